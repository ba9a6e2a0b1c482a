package dev.loupe.model.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.image.FixtureTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** Test access to the llava reference fixture: checkpoint, reference.json, full tensors and the images. */
final class LlavaFixture {
    private LlavaFixture() {}

    static Path dir() {
        return FixtureTensors.fixtures().resolve("llava");
    }

    static Path checkpoint() {
        return dir().resolve("checkpoint");
    }

    static Path image(String file) {
        return FixtureTensors.fixtures().resolve("images").resolve(file);
    }

    static JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(dir().resolve("reference.json").toFile());
    }

    /** A float32 tensor of tensors.safetensors, flat. */
    static float[] tensor(String name) throws IOException {
        return FixtureTensors.readF32(dir().resolve("tensors.safetensors"), name);
    }

    /** The plain prompt inside the LLaVA-1.5 template the fixture's prompts are written in. */
    static String plain(String templated) {
        if (!templated.startsWith(LlavaPromptEncoder.TEMPLATE_PREFIX) || !templated.endsWith(LlavaPromptEncoder.TEMPLATE_SUFFIX)) {
            throw new IllegalArgumentException("not a LLaVA-1.5 templated prompt: " + templated);
        }
        return templated.substring(LlavaPromptEncoder.TEMPLATE_PREFIX.length(),
                templated.length() - LlavaPromptEncoder.TEMPLATE_SUFFIX.length());
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }

    /** Row r of a padded id matrix with its mask's zeros left out. */
    static int[] unpadded(JsonNode values, JsonNode mask, int r) {
        return java.util.stream.IntStream.range(0, values.get(r).size())
                .filter(c -> mask.get(r).get(c).asInt() == 1)
                .map(c -> values.get(r).get(c).asInt()).toArray();
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (Float.isNaN(d)) {
                return d;
            }
            m = Math.max(m, d);
        }
        return m;
    }

    static float[] slice(float[] all, int row, int rows) {
        int per = all.length / rows;
        return Arrays.copyOfRange(all, row * per, (row + 1) * per);
    }
}
