package dev.strata.core.tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helpers: the committed fixtures, and writers for hand-made model files. */
public final class TensorFiles {
    private TensorFiles() {}

    public static byte[] fixture(String name) {
        try (InputStream in = TensorFiles.class.getResourceAsStream("/tensor/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One tensor for {@link #safetensors}: its dtype name, shape and raw bytes. */
    public record St(String dtype, long[] shape, byte[] data) {}

    /** A safetensors file holding the tensors back to back in the map's order. */
    public static byte[] safetensors(Map<String, St> tensors) {
        StringBuilder json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        for (var e : tensors.entrySet()) {
            StringBuilder shape = new StringBuilder();
            for (long d : e.getValue().shape()) {
                shape.append(shape.isEmpty() ? "" : ",").append(d);
            }
            long end = off + e.getValue().data().length;
            json.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(e.getValue().dtype())
                    .append("\",\"shape\":[").append(shape).append("],\"data_offsets\":[").append(off).append(',').append(end).append("]}");
            off = end;
        }
        json.append('}');
        while ((json.length() + 8) % 8 != 0) {
            json.append(' ');
        }
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        out.writeBytes(header);
        for (St t : tensors.values()) {
            out.writeBytes(t.data());
        }
        return out.toByteArray();
    }

    /** A zip like torch.save's: {@code archive/data.pkl} then {@code archive/data/<key>}, all stored unless {@code deflate}. */
    public static byte[] torchZip(byte[] pickle, Map<String, byte[]> storages, boolean deflate) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            put(zip, "archive/data.pkl", pickle, deflate);
            for (var e : storages.entrySet()) {
                put(zip, "archive/data/" + e.getKey(), e.getValue(), deflate);
            }
            put(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII), deflate);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void put(ZipOutputStream zip, String name, byte[] data, boolean deflate) throws IOException {
        ZipEntry e = new ZipEntry(name);
        if (!deflate) {
            e.setMethod(ZipEntry.STORED);
            e.setSize(data.length);
            e.setCompressedSize(data.length);
            CRC32 crc = new CRC32();
            crc.update(data);
            e.setCrc(crc.getValue());
        }
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    /** Parses {@code data} with the format it announces (null format: sniffed). */
    public static TensorLayout parse(Path dir, byte[] data, TensorFormats.Format format) throws IOException {
        Path f = Files.write(Files.createTempFile(dir, "m", ".bin"), data);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            return TensorFormats.parse(format, ch, ch.size());
        } finally {
            Files.delete(f);
        }
    }

    /** Little-endian bytes of {@code values} as int64. */
    public static byte[] int64s(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }
}
