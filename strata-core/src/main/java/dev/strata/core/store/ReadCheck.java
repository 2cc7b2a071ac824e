package dev.strata.core.store;

/**
 * What a store checks of a chunk it reads before handing the bytes on (decision 0019).
 */
public enum ReadCheck {
    /** The bytes are hashed and compared with the chunk's id: for readers that take them on trust. */
    ID,
    /**
     * The entry's stored checksum (CRC-32C) is checked, which catches damage on the disk, and the
     * id is left to the receiver, which must check it: for clients that hash every chunk they
     * receive anyway (end to end, after the network too), so that the server does not hash it twice.
     */
    CHECKSUM
}
