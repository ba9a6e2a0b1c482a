package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/** Test access to the instructblip-flant5 reference fixture (helpers shared with {@link VicunaFixture}). */
final class FlanT5Fixture {
    private FlanT5Fixture() {}

    static Path dir() {
        return VicunaFixture.dir().resolveSibling("instructblip-flant5");
    }

    static Path checkpoint() {
        return dir().resolve("checkpoint");
    }

    static Path image(String file) {
        return dir().resolveSibling("images").resolve(file);
    }

    static JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(dir().resolve("reference.json").toFile());
    }

    static float[] tensor(String name) throws IOException {
        return VicunaFixture.tensor(dir(), name);
    }
}
