package dev.strata.core.store.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link FileChannel} that simulates a full disk: writes draw from a shared byte budget, and a
 * write that exceeds it stores what fits (as a real short write would) then throws
 * "No space left on device". Reads, truncation and sync behave normally.
 */
final class FaultyFileChannel extends FileChannel {
    private final FileChannel delegate;
    private final AtomicLong budget;

    FaultyFileChannel(FileChannel delegate, AtomicLong budget) {
        this.delegate = delegate;
        this.budget = budget;
    }

    private int limited(ByteBuffer src, long position) throws IOException {
        long left = budget.get();
        if (src.remaining() <= left) {
            budget.addAndGet(-src.remaining());
            return delegate.write(src, position);
        }
        if (left > 0) {
            ByteBuffer part = src.slice(src.position(), (int) left);
            budget.addAndGet(-left);
            delegate.write(part, position);
        }
        throw new IOException("No space left on device");
    }

    @Override public int write(ByteBuffer src, long position) throws IOException { return limited(src, position); }
    @Override public int write(ByteBuffer src) throws IOException {
        int n = limited(src, delegate.position());
        delegate.position(delegate.position() + n);
        return n;
    }
    @Override public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += write(srcs[i]);
        }
        return n;
    }
    @Override public int read(ByteBuffer dst) throws IOException { return delegate.read(dst); }
    @Override public long read(ByteBuffer[] dsts, int offset, int length) throws IOException { return delegate.read(dsts, offset, length); }
    @Override public int read(ByteBuffer dst, long position) throws IOException { return delegate.read(dst, position); }
    @Override public long position() throws IOException { return delegate.position(); }
    @Override public FileChannel position(long p) throws IOException { delegate.position(p); return this; }
    @Override public long size() throws IOException { return delegate.size(); }
    @Override public FileChannel truncate(long size) throws IOException { delegate.truncate(size); return this; }
    @Override public void force(boolean metaData) throws IOException { delegate.force(metaData); }
    @Override public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return delegate.transferTo(position, count, target);
    }
    @Override public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        throw new IOException("transferFrom is not simulated");
    }
    @Override public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        throw new IOException("map is not simulated");
    }
    @Override public FileLock lock(long position, long size, boolean shared) throws IOException { return delegate.lock(position, size, shared); }
    @Override public FileLock tryLock(long position, long size, boolean shared) throws IOException { return delegate.tryLock(position, size, shared); }
    @Override protected void implCloseChannel() throws IOException { delegate.close(); }
}
