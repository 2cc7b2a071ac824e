package dev.strata.catalog;

/** A role on one repository, ordered: each includes the rights of the ones before it. */
public enum RepoRole {
    READER, WRITER, ADMIN;

    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static RepoRole fromWire(String s) {
        for (RepoRole v : values()) {
            if (v.wire().equals(s)) {
                return v;
            }
        }
        throw new dev.strata.core.InvalidInputException("role must be reader, writer or admin, got " + dev.strata.core.Names.quote(String.valueOf(s)));
    }
}
