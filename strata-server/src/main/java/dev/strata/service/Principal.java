package dev.strata.service;

/**
 * Who is making a request. Until access control lands (users, tokens, roles) every request is
 * the local user; it still passes the single authorisation point ({@code AccessPolicy}).
 */
public record Principal(String name, String tokenId) {
    public static final Principal LOCAL = new Principal("local", null);
}
