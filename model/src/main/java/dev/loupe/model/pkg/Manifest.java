package dev.loupe.model.pkg;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code manifest.json} of a model package (a DESIGN.md contract): what the package is, where its graphs and
 * tokenizer files are, and everything the runtime needs without re-reading the source checkpoint.
 * Unknown fields are ignored so that newer packages stay readable by older runtimes where possible.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(
        @JsonProperty("format") String format,
        @JsonProperty("format_version") int formatVersion,
        @JsonProperty("family") String family,
        @JsonProperty("name") String name,
        @JsonProperty("dtype") String dtype,
        @JsonProperty("source") Source source,
        @JsonProperty("graphs") Map<String, String> graphs,
        @JsonProperty("tokenizers") Map<String, String> tokenizers,
        @JsonProperty("special_tokens") SpecialTokens specialTokens,
        @JsonProperty("dimensions") JsonNode dimensions,
        @JsonProperty("preprocessing") JsonNode preprocessing,
        @JsonProperty("generation") JsonNode generation,
        @JsonProperty("config") JsonNode config) {

    public static final String FORMAT = "loupe-model-package";
    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Where the package came from: the checkpoint directory and the SHA-256 of its weight files. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Source(
            @JsonProperty("checkpoint") String checkpoint,
            @JsonProperty("sha256") String sha256,
            @JsonProperty("fingerprint") String fingerprint) {}

    /** Token ids the runtime needs; eos may hold several ids. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record SpecialTokens(
            @JsonProperty("bos") Integer bos,
            @JsonProperty("eos") int[] eos,
            @JsonProperty("pad") Integer pad,
            @JsonProperty("image") Integer image) {}

    public static Manifest read(Path packageDir) throws IOException {
        Path file = packageDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException(packageDir + " is not a model package: no " + FILE_NAME);
        }
        Manifest m = JSON.readValue(file.toFile(), Manifest.class);
        if (!FORMAT.equals(m.format())) {
            throw new IOException(file + ": format is '" + m.format() + "', expected '" + FORMAT + "'");
        }
        if (m.formatVersion() > FORMAT_VERSION) {
            throw new IOException(file + ": package format version " + m.formatVersion()
                    + " is newer than this runtime supports (" + FORMAT_VERSION + "); upgrade loupe");
        }
        return m;
    }

    public void write(Path packageDir) throws IOException {
        Files.createDirectories(packageDir);
        JSON.writeValue(packageDir.resolve(FILE_NAME).toFile(), this);
    }

    /** The path of a named graph inside the package. */
    public Path graph(Path packageDir, String graphName) throws IOException {
        String file = graphs == null ? null : graphs.get(graphName);
        if (file == null) {
            throw new IOException("model package " + packageDir + " has no '" + graphName + "' graph");
        }
        return packageDir.resolve(file);
    }
}
