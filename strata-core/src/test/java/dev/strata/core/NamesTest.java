package dev.strata.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Names from the network are hostile: everything that could escape a directory or confuse a parser is refused. */
class NamesTest {
    @ParameterizedTest
    @ValueSource(strings = {"lab/chimera", "a/b", "Lab-1/model.v2_final", "x/y.z"})
    void acceptsOrdinaryRepositoryNames(String name) {
        assertEquals(name, Names.repo(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "lab", "lab/", "/chimera", "a/b/c", "../x", "a/..", "a/b..c", "a/.hidden", "a/b.", "a b/c",
            "a/b\u0000", "a\\b/c", "a/%2e%2e", "-a/b"})
    void refusesHostileRepositoryNames(String name) {
        assertThrows(InvalidInputException.class, () -> Names.repo(name));
    }

    @Test
    void refusesOverlongNames() {
        assertThrows(InvalidInputException.class, () -> Names.repo("a".repeat(101) + "/b"));
        assertThrows(InvalidInputException.class, () -> Names.ref("r".repeat(201)));
        assertThrows(InvalidInputException.class, () -> Names.path("p".repeat(256)));
        assertThrows(InvalidInputException.class, () -> Names.path(("d".repeat(200) + "/").repeat(21) + "f"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"main", "run-42", "feature/x", "v1.0", "exp_3/b"})
    void acceptsRefs(String ref) {
        assertEquals(ref, Names.ref(ref));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/main", "main/", "a//b", "a/../b", "..", "x.lock", "a~1", "a b", "a\nb", "a/.b", "ma\u0000in"})
    void refusesBadRefs(String ref) {
        assertThrows(InvalidInputException.class, () -> Names.ref(ref));
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.safetensors", "optim/state.bin", "a/b/c.txt", "数据/权重.bin", "with space.txt"})
    void acceptsPaths(String path) {
        assertEquals(path, Names.path(path));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "a\u0000b", "a\tb", "a\u007fb", "\ud800x"})
    void refusesPathsThatCouldEscapeOrConfuse(String path) {
        assertThrows(InvalidInputException.class, () -> Names.path(path));
    }

    /** Whatever is accepted, resolved under a root, stays under that root. */
    @Property(tries = 2000)
    void acceptedPathsNeverEscape(@ForAll @StringLength(max = 40) String candidate) {
        String path;
        try {
            path = Names.path(candidate);
        } catch (InvalidInputException e) {
            return;
        }
        java.nio.file.Path root = java.nio.file.Path.of("/srv/root");
        assertEquals(true, root.resolve(path).normalize().startsWith(root), candidate);
    }

    @Test
    void quoteEscapesControlCharactersAndTruncates() {
        assertEquals("'a\\x00b'", Names.quote("a\u0000b"));
        assertEquals(125, Names.quote("x".repeat(500)).length());
    }
}
