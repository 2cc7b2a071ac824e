package dev.strata.catalog;

/** What a role or grant is given to. */
public enum SubjectKind {
    USER, GROUP;

    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static SubjectKind fromWire(String s) {
        for (SubjectKind v : values()) {
            if (v.wire().equals(s)) {
                return v;
            }
        }
        throw new dev.strata.core.InvalidInputException("subject kind must be user or group, got " + dev.strata.core.Names.quote(String.valueOf(s)));
    }
}
