package dev.loupe.model.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Identifies a checkpoint's weights. The SHA-256 over all safetensors files (sorted by name) is exact but reads
 * every byte, so it is computed once, at conversion; the fingerprint (names, sizes, modification times, config)
 * is cheap and keys the conversion cache.
 */
public final class CheckpointHash {
    private CheckpointHash() {}

    public static String sha256(Path checkpointDir) throws IOException {
        MessageDigest md = sha();
        byte[] buf = new byte[1 << 20];
        for (Path f : weightFiles(checkpointDir)) {
            try (InputStream in = Files.newInputStream(f)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static String fingerprint(Path checkpointDir) throws IOException {
        MessageDigest md = sha();
        for (Path f : weightFiles(checkpointDir)) {
            md.update((f.getFileName() + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f).toMillis() + ";")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        Path config = checkpointDir.resolve("config.json");
        if (Files.isRegularFile(config)) {
            md.update(Files.readAllBytes(config));
        }
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    private static List<Path> weightFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (files.isEmpty()) {
                throw new IOException("no .safetensors files in " + dir);
            }
            return files;
        }
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
