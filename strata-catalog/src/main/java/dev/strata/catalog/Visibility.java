package dev.strata.catalog;

/** Who may read a repository without a role: nobody (private, the default), every signed-in user (internal), everyone (public). */
public enum Visibility {
    PRIVATE, INTERNAL, PUBLIC;

    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Visibility fromWire(String s) {
        for (Visibility v : values()) {
            if (v.wire().equals(s)) {
                return v;
            }
        }
        throw new dev.strata.core.InvalidInputException("visibility must be private, internal or public, got " + dev.strata.core.Names.quote(String.valueOf(s)));
    }
}
