package dev.strata.service;

/** What a request does, as seen by the authorisation point. */
public enum Action {
    READ,
    WRITE,
    ADMIN
}
