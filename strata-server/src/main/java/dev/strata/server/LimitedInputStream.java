package dev.strata.server;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Fails a streamed body that goes past its limit, so a hostile client cannot stream forever. */
final class LimitedInputStream extends FilterInputStream {
    private final long limit;
    private long count;

    LimitedInputStream(InputStream in, long limit) {
        super(in);
        this.limit = limit;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            add(1);
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            add(n);
        }
        return n;
    }

    private void add(long n) {
        count += n;
        if (count > limit) {
            throw new PayloadTooLargeException("request body exceeds the limit of " + limit + " bytes");
        }
    }
}
