package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.util.ArrayList;
import java.util.List;

/**
 * How a recognised model file divides into segments: ordered, non-empty, back to back from offset 0
 * to the file size. TENSOR segments carry their {@link TensorInfo}; the rest is format framing
 * (HEADER) or anything else (OTHER: padding, zip headers, pickles, trailing bytes).
 */
public record TensorLayout(String format, long size, List<Segment> segments) {
    public enum Kind { HEADER, TENSOR, OTHER }

    /** One segment; {@code tensor} is non-null exactly for TENSOR segments and covers the segment exactly. */
    public record Segment(Kind kind, long offset, long length, TensorInfo tensor) {
        public Segment {
            if (kind == null || offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length) {
                throw new InvalidInputException("bad segment " + kind + " " + offset + "+" + length);
            }
            if ((kind == Kind.TENSOR) != (tensor != null)) {
                throw new InvalidInputException("a tensor segment, and only one, carries a tensor");
            }
            if (tensor != null && (tensor.offset() != offset || tensor.length() != length)) {
                throw new InvalidInputException("tensor " + Names.quote(tensor.name()) + " does not match its segment");
            }
        }

        public long end() {
            return offset + length;
        }
    }

    public TensorLayout {
        if (format == null) {
            throw new InvalidInputException("format name missing");
        }
        segments = List.copyOf(segments);
        long next = 0;
        for (Segment s : segments) {
            if (s.offset() != next) {
                throw new InvalidInputException("segment at " + s.offset() + " does not follow the previous one ending at " + next);
            }
            next = s.end();
        }
        if (next != size) {
            throw new InvalidInputException("segments cover " + next + " bytes of a " + size + "-byte file");
        }
    }

    /** The tensors, in file order. */
    public List<TensorInfo> tensors() {
        List<TensorInfo> out = new ArrayList<>();
        for (Segment s : segments) {
            if (s.tensor() != null) {
                out.add(s.tensor());
            }
        }
        return out;
    }

    /**
     * Builds a layout from tensors in any order: sorts them by offset, rejects overlaps and tensors
     * outside {@code [dataStart, size)}, drops empty ones and fills the gaps with OTHER segments
     * (the bytes before {@code headerEnd} are one HEADER segment).
     */
    static TensorLayout of(String format, long size, long headerEnd, List<TensorInfo> tensors) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.size());
        for (TensorInfo t : tensors) {
            if (t.length() > 0) {
                sorted.add(t);
            }
        }
        sorted.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        if (headerEnd < 0 || headerEnd > size) {
            throw new InvalidInputException("header ends at " + headerEnd + ", past the end of the file");
        }
        List<Segment> segments = new ArrayList<>(2 * sorted.size() + 2);
        if (headerEnd > 0) {
            segments.add(new Segment(Kind.HEADER, 0, headerEnd, null));
        }
        long pos = headerEnd;
        for (TensorInfo t : sorted) {
            if (t.offset() < pos) {
                throw new InvalidInputException("tensor " + Names.quote(t.name()) + " at " + t.offset() + " overlaps the bytes before " + pos);
            }
            if (t.end() > size) {
                throw new InvalidInputException("tensor " + Names.quote(t.name()) + " ends at " + t.end() + ", past the " + size + "-byte file");
            }
            if (t.offset() > pos) {
                segments.add(new Segment(Kind.OTHER, pos, t.offset() - pos, null));
            }
            segments.add(new Segment(Kind.TENSOR, t.offset(), t.length(), t));
            pos = t.end();
        }
        if (pos < size) {
            segments.add(new Segment(Kind.OTHER, pos, size - pos, null));
        }
        return new TensorLayout(format, size, segments);
    }
}
