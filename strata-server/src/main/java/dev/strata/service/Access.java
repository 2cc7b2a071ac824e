package dev.strata.service;

/**
 * A principal's effective access to one repository: the role (or visibility) its user has there,
 * capped by the token's scope. Ordered: each level includes the ones before it. {@code GRANTED}
 * reads only the versions granted to the user or one of its groups.
 */
public enum Access {
    NONE, GRANTED, READ, WRITE, ADMIN;

    public boolean atLeast(Access other) {
        return compareTo(other) >= 0;
    }
}
