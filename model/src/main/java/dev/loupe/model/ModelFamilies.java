package dev.loupe.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.instructblip.InstructBlipFamily;
import dev.loupe.model.llava.LlavaFamily;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The one list of the model families this build runs: the built-in ones, then any registered through
 * {@link ServiceLoader} as {@link ModelFamily} (a test double, or a family shipped in another jar). Converting,
 * opening and every "not supported" message ask it, so adding a family is adding it here or registering it.
 */
public final class ModelFamilies {
    private static final List<ModelFamily> BUILT_IN = List.of(InstructBlipFamily.INSTANCE, LlavaFamily.INSTANCE);

    private ModelFamilies() {}

    /**
     * The built-in families, then the registered ones (through the thread's context class loader, which is the job's
     * inside Flink), in discovery order; a registered family with the id of one listed before it is ignored.
     */
    public static List<ModelFamily> all() {
        List<ModelFamily> all = new ArrayList<>(BUILT_IN);
        Set<String> ids = new HashSet<>();
        BUILT_IN.forEach(f -> ids.add(f.id()));
        for (ModelFamily extra : ServiceLoader.load(ModelFamily.class)) {
            if (ids.add(extra.id())) {
                all.add(extra);
            }
        }
        return all;
    }

    /** The family that opens a package with this manifest. */
    public static ModelFamily forPackage(Path packageDir, Manifest manifest) throws IOException {
        List<ModelFamily> all = all();
        for (ModelFamily family : all) {
            if (family.packageFamilies().contains(manifest.family())) {
                return family;
            }
        }
        throw new IOException("model family '" + manifest.family() + "' of " + packageDir
                + " is not supported by this build (supported: " + all.stream()
                        .flatMap(f -> f.packageFamilies().stream().sorted()).collect(Collectors.joining(", "))
                + ")");
    }

    /** The family that converts a checkpoint with this {@code config.json}. */
    public static ModelFamily forCheckpoint(Path checkpointDir, JsonNode config) throws IOException {
        List<ModelFamily> all = all();
        for (ModelFamily family : all) {
            if (family.convertsCheckpoint(config)) {
                return family;
            }
        }
        throw new IOException("the model in " + checkpointDir + " is not supported by this build (supported: "
                + all.stream().map(ModelFamily::supportedCheckpoints).collect(Collectors.joining("; ")) + ")");
    }
}
