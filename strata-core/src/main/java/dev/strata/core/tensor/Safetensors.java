package dev.strata.core.tensor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * safetensors: u64 little-endian header length N, N bytes of JSON
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}},
 * then the data; offsets are relative to byte 8 + N. The JSON is streamed from the file (never
 * loaded whole) under Jackson read constraints.
 */
final class Safetensors {
    static final String FORMAT = "safetensors";
    /** Header cap (the reference implementation also uses 100 MB). */
    static final long MAX_HEADER = 100L << 20;
    static final int MAX_TENSORS = 1 << 20;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(16)
                    .maxStringLength(16 << 20)
                    .maxNameLength(TensorInfo.MAX_NAME_BYTES)
                    .maxNumberLength(40)
                    .maxDocumentLength(MAX_HEADER)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Safetensors() {}

    static TensorLayout parse(FileChannel ch, long size) throws IOException {
        if (size < 8) {
            throw new InvalidInputException("safetensors: shorter than 8 bytes");
        }
        ByteBuffer lb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        while (lb.hasRemaining()) {
            if (ch.read(lb, lb.position()) < 0) {
                throw new InvalidInputException("safetensors: truncated");
            }
        }
        long n = lb.getLong(0);
        if (n < 2 || n > MAX_HEADER || n > size - 8) {
            throw new InvalidInputException("safetensors: header length " + Long.toUnsignedString(n) + " invalid for a " + size + "-byte file");
        }
        long dataStart = 8 + n;
        List<TensorInfo> tensors = new ArrayList<>();
        // The header is UTF-8 (never sniffed: a hostile header could pass as UTF-32); invalid bytes are rejected.
        try (InputStream in = ChannelReader.stream(ch, 8, n);
             JsonParser p = JSON.createParser(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                     .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                     .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)))) {
            expect(p.nextToken(), JsonToken.START_OBJECT);
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                expect(t, JsonToken.FIELD_NAME);
                String name = p.currentName();
                if (name.equals("__metadata__")) {
                    p.nextToken();
                    p.skipChildren();
                    continue;
                }
                if (tensors.size() >= MAX_TENSORS) {
                    throw new InvalidInputException("safetensors: more than " + MAX_TENSORS + " tensors");
                }
                tensors.add(tensor(p, name, dataStart));
            }
            if (p.nextToken() != null) {
                throw new InvalidInputException("safetensors: bytes after the header object");
            }
        } catch (StreamConstraintsException e) {
            throw new InvalidInputException("safetensors: header over a limit: " + e.getOriginalMessage());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new InvalidInputException("safetensors: malformed header: " + e.getOriginalMessage());
        } catch (java.nio.charset.CharacterCodingException | java.io.CharConversionException e) {
            throw new InvalidInputException("safetensors: header is not valid UTF-8");
        }
        return TensorLayout.of(FORMAT, size, dataStart, tensors);
    }

    private static TensorInfo tensor(JsonParser p, String name, long dataStart) throws IOException {
        expect(p.nextToken(), JsonToken.START_OBJECT);
        DType dtype = null;
        long[] shape = null;
        long begin = -1;
        long end = -1;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            expect(t, JsonToken.FIELD_NAME);
            switch (p.currentName()) {
                case "dtype" -> {
                    expect(p.nextToken(), JsonToken.VALUE_STRING);
                    dtype = dtype(p.getText());
                }
                case "shape" -> {
                    expect(p.nextToken(), JsonToken.START_ARRAY);
                    long[] dims = new long[TensorInfo.MAX_RANK];
                    int rank = 0;
                    for (JsonToken d = p.nextToken(); d != JsonToken.END_ARRAY; d = p.nextToken()) {
                        if (rank == TensorInfo.MAX_RANK) {
                            throw new InvalidInputException("safetensors: tensor " + Names.quote(name) + " has rank over " + TensorInfo.MAX_RANK);
                        }
                        dims[rank++] = nonNegative(p, d);
                    }
                    shape = java.util.Arrays.copyOf(dims, rank);
                }
                case "data_offsets" -> {
                    expect(p.nextToken(), JsonToken.START_ARRAY);
                    begin = nonNegative(p, p.nextToken());
                    end = nonNegative(p, p.nextToken());
                    expect(p.nextToken(), JsonToken.END_ARRAY);
                }
                default -> {
                    p.nextToken();
                    p.skipChildren();
                }
            }
        }
        if (dtype == null || shape == null || begin < 0) {
            throw new InvalidInputException("safetensors: tensor " + Names.quote(name) + " lacks dtype, shape or data_offsets");
        }
        if (end < begin || begin > Long.MAX_VALUE - dataStart || end > Long.MAX_VALUE - dataStart) {
            throw new InvalidInputException("safetensors: tensor " + Names.quote(name) + " has bad data_offsets");
        }
        return new TensorInfo(name, dtype, shape, dataStart + begin, end - begin);
    }

    private static long nonNegative(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new InvalidInputException("safetensors: expected a non-negative integer, got " + t);
        }
        long v = p.getLongValue();
        if (v < 0) {
            throw new InvalidInputException("safetensors: negative value " + v);
        }
        return v;
    }

    private static void expect(JsonToken got, JsonToken want) {
        if (got != want) {
            throw new InvalidInputException("safetensors: expected " + want + ", got " + got);
        }
    }

    static DType dtype(String s) {
        return switch (s) {
            case "BF16" -> DType.BF16;
            case "F16" -> DType.F16;
            case "F32" -> DType.F32;
            case "F64" -> DType.F64;
            case "I8" -> DType.I8;
            case "I16" -> DType.I16;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            case "U8" -> DType.U8;
            case "U16" -> DType.U16;
            case "U32" -> DType.U32;
            case "U64" -> DType.U64;
            case "BOOL" -> DType.BOOL;
            case "F8_E4M3" -> DType.F8_E4M3;
            case "F8_E5M2" -> DType.F8_E5M2;
            case "C64" -> DType.C64;
            default -> throw new InvalidInputException("safetensors: unknown dtype " + (s.length() > 32 ? s.substring(0, 32) + "..." : s));
        };
    }
}
