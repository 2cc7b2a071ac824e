package dev.strata.core;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Validation of every name that reaches Strata from outside: repository names, ref names and
 * file paths. Names come from the network, so they are hostile until checked here; everything
 * rejected raises {@link InvalidInputException} (HTTP 400).
 */
public final class Names {
    public static final int MAX_REPO_PART = 100;
    public static final int MAX_REF = 200;
    public static final int MAX_PATH_BYTES = 4096;
    public static final int MAX_PATH_SEGMENT_BYTES = 255;

    private static final Pattern REPO_PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern REF = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]*");

    private Names() {}

    /** Checks {@code owner/name}; returns it unchanged. */
    public static String repo(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidInputException("repository name is empty; expected owner/name");
        }
        int slash = name.indexOf('/');
        if (slash < 0 || name.indexOf('/', slash + 1) >= 0) {
            throw new InvalidInputException("repository name must be owner/name: " + quote(name));
        }
        repoPart(name.substring(0, slash), name);
        repoPart(name.substring(slash + 1), name);
        return name;
    }

    private static void repoPart(String part, String whole) {
        if (part.isEmpty() || part.length() > MAX_REPO_PART || !REPO_PART.matcher(part).matches()
                || part.contains("..") || part.endsWith(".")) {
            throw new InvalidInputException("invalid repository name " + quote(whole)
                    + ": owner and name are 1-" + MAX_REPO_PART
                    + " characters of letters, digits, '.', '_' and '-', starting with a letter or digit, without '..'");
        }
    }

    /** Checks a user or group name (it can own repositories, so it follows the owner rules); returns it unchanged. */
    public static String subject(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_REPO_PART || !REPO_PART.matcher(name).matches()
                || name.contains("..") || name.endsWith(".")) {
            throw new InvalidInputException("invalid user or group name " + quote(String.valueOf(name))
                    + ": 1-" + MAX_REPO_PART + " characters of letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
        return name;
    }

    /** Checks a branch or tag name (git-like: segments separated by '/'); returns it unchanged. */
    public static String ref(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_REF || !REF.matcher(name).matches()
                || name.contains("..") || name.contains("//") || name.endsWith("/") || name.endsWith(".")
                || name.endsWith(".lock") || name.contains("/.")) {
            throw new InvalidInputException("invalid branch or tag name " + quote(name)
                    + ": 1-" + MAX_REF + " characters of letters, digits, '.', '_', '-' and '/', without '..' or empty segments");
        }
        return name;
    }

    /**
     * Checks a file path inside a commit: relative, '/'-separated, no empty, '.' or '..' segments,
     * no backslashes, NUL or control characters. Returns it unchanged.
     */
    public static String path(String path) {
        if (path == null || path.isEmpty()) {
            throw new InvalidInputException("file path is empty");
        }
        byte[] utf8 = path.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > MAX_PATH_BYTES) {
            throw new InvalidInputException("file path longer than " + MAX_PATH_BYTES + " bytes");
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\' || Character.isSurrogate(c) && !validSurrogate(path, i)) {
                throw new InvalidInputException("file path has a control character, backslash or invalid UTF-16: " + quote(path));
            }
        }
        if (path.startsWith("/")) {
            throw new InvalidInputException("file path must be relative: " + quote(path));
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new InvalidInputException("file path has an empty, '.' or '..' segment: " + quote(path));
            }
            if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_SEGMENT_BYTES) {
                throw new InvalidInputException("file path segment longer than " + MAX_PATH_SEGMENT_BYTES + " bytes");
            }
        }
        return path;
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    /** Quotes untrusted text for an error message: escaped, and cut to 120 characters. */
    public static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("'");
        int n = Math.min(s.length(), 120);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > n) {
            b.append("...");
        }
        return b.append('\'').toString();
    }
}
