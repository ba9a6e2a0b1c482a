package dev.loupe.jobs.enrich;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A short, stable identity of a model directory for the resume journal: the hash of a Loupe package's
 * {@code manifest.json} (which holds the source checkpoint's hash), or for any other directory the hash of its
 * small files' contents and its large files' names and sizes (weights are not read). Copying the directory keeps
 * it; changing the weights' size, the config or the tokenizer changes it.
 */
final class ModelFingerprint {

    private static final long SMALL_FILE = 1 << 20;

    private ModelFingerprint() {}

    static String of(Path modelDir) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            Path manifest = modelDir.resolve("manifest.json");
            if (Files.isRegularFile(manifest)) {
                hashContent(digest, manifest);
            } else {
                List<Path> files;
                try (Stream<Path> walk = Files.walk(modelDir)) {
                    files = walk.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path file : files) {
                    digest.update(modelDir.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
                    long size = Files.size(file);
                    digest.update(Long.toString(size).getBytes(StandardCharsets.UTF_8));
                    if (size <= SMALL_FILE) {
                        hashContent(digest, file);
                    }
                }
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model directory " + modelDir + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void hashContent(MessageDigest digest, Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }
}
