package dev.strata.catalog;

/** The most a token may do, ordered: each scope includes the ones before it. */
public enum TokenScope {
    READ, WRITE, ADMIN;

    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static TokenScope fromWire(String s) {
        for (TokenScope v : values()) {
            if (v.wire().equals(s)) {
                return v;
            }
        }
        throw new dev.strata.core.InvalidInputException("scope must be read, write or admin, got " + dev.strata.core.Names.quote(String.valueOf(s)));
    }
}
