package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Recognises model files by their content (never by name) and returns their {@link TensorLayout}:
 * safetensors, PyTorch {@code torch.save} zip archives and GGUF. Every file is untrusted: parsers
 * cap what they allocate and reject malformed input with {@link InvalidInputException}, which
 * {@link #detect} turns into "unknown" so such a file is still stored as plain bytes.
 */
public final class TensorFormats {
    private TensorFormats() {}

    /** The layout of a recognised, well-formed model file; empty for anything else. */
    public static Optional<TensorLayout> detect(FileChannel ch, long size) throws IOException {
        Format f = sniff(ch, size);
        if (f == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(f, ch, size));
        } catch (InvalidInputException e) {
            return Optional.empty();
        }
    }

    public static Optional<TensorLayout> detect(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return detect(ch, ch.size());
        }
    }

    /** The formats recognised. */
    public enum Format { SAFETENSORS, TORCH_ZIP, GGUF }

    /** Which format the first bytes announce, or null. Cheap: reads at most 16 bytes. */
    public static Format sniff(FileChannel ch, long size) throws IOException {
        if (size < 8) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(16, size)).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) {
                return null;
            }
        }
        b.flip();
        int magic = b.getInt(0);
        if (magic == Gguf.MAGIC) {
            return Format.GGUF;
        }
        if (magic == TorchZip.LOCAL_HEADER_SIG) {
            return Format.TORCH_ZIP;
        }
        if (b.limit() >= 9) {
            long n = b.getLong(0);
            if (n >= 2 && n <= Safetensors.MAX_HEADER && n <= size - 8 && b.get(8) == '{') {
                return Format.SAFETENSORS;
            }
        }
        return null;
    }

    /** Parses {@code ch} as {@code format}; malformed input throws {@link InvalidInputException}. */
    public static TensorLayout parse(Format format, FileChannel ch, long size) throws IOException {
        return switch (format) {
            case SAFETENSORS -> Safetensors.parse(ch, size);
            case TORCH_ZIP -> TorchZip.parse(ch, size);
            case GGUF -> Gguf.parse(ch, size);
        };
    }

    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
