package dev.loupe.jobs.webdataset;

import dev.loupe.jobs.testing.Requests;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Tiny WebDataset shards for tests, laid out as img2dataset writes them: {@code 00000.tar} holding
 * {@code 000000000.jpg}, {@code 000000000.txt} (the alt text) and {@code 000000000.json} (url, key, status,
 * caption, sizes) per sample, with {@code 00000.parquet}, {@code 00000_stats.json} and {@code _stats.json} beside.
 */
public final class TestShards implements Closeable {

    private final TarArchiveOutputStream tar;

    private TestShards(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        tar = new TarArchiveOutputStream(Files.newOutputStream(file));
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    /** A shard being written at {@code file}. */
    public static TestShards create(Path file) throws IOException {
        return new TestShards(file);
    }

    /** An img2dataset sample: {@code KEY.jpg} (16×16, colour from {@code seed}), {@code KEY.txt}, {@code KEY.json}. */
    public TestShards sample(String key, long seed) throws IOException {
        return sample(key, Requests.image(16, 16, "jpg", seed));
    }

    /** An img2dataset sample with {@code jpg} as its image bytes (corrupt ones too). */
    public TestShards sample(String key, byte[] jpg) throws IOException {
        member(key + ".jpg", jpg);
        member(key + ".txt", text("a photo number " + key));
        return member(key + ".json", text("{\"url\": \"https://example.com/" + key + ".jpg\", \"key\": \"" + key
                + "\", \"status\": \"success\", \"error_message\": null, \"caption\": \"a photo number " + key
                + "\", \"width\": 16, \"height\": 16, \"original_width\": 16, \"original_height\": 16}"));
    }

    /** Any member. */
    public TestShards member(String name, byte[] bytes) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name);
        entry.setSize(bytes.length);
        entry.setModTime(1_700_000_000_000L);
        tar.putArchiveEntry(entry);
        tar.write(bytes);
        tar.closeArchiveEntry();
        return this;
    }

    @Override
    public void close() throws IOException {
        tar.close();
    }

    public static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * img2dataset's output folder: {@code shards} shards of {@code perShard} samples each, keys numbered across
     * shards ({@code 000000000}, ...), and the sidecar files it writes beside them; returns the folder.
     */
    public static Path img2dataset(Path folder, int shards, int perShard) throws IOException {
        Files.createDirectories(folder);
        int key = 0;
        for (int s = 0; s < shards; s++) {
            String shard = String.format("%05d", s);
            try (TestShards out = create(folder.resolve(shard + ".tar"))) {
                for (int i = 0; i < perShard; i++, key++) {
                    out.sample(String.format("%09d", key), key);
                }
            }
            Files.write(folder.resolve(shard + ".parquet"), new byte[] {'P', 'A', 'R', '1'});
            Files.writeString(folder.resolve(shard + "_stats.json"), "{\"count\": " + perShard + "}");
        }
        Files.writeString(folder.resolve("_stats.json"), "{}");
        return folder;
    }

    /** Every member of {@code tar}, name to bytes, in tar order. */
    public static Map<String, byte[]> members(Path tar) throws IOException {
        Map<String, byte[]> members = new LinkedHashMap<>();
        try (InputStream file = Files.newInputStream(tar); TarArchiveInputStream in = new TarArchiveInputStream(file)) {
            for (TarArchiveEntry entry; (entry = in.getNextEntry()) != null; ) {
                members.put(entry.getName(), in.readAllBytes());
            }
        }
        return members;
    }

    /** The member names of {@code tar} in order. */
    public static List<String> names(Path tar) throws IOException {
        return new ArrayList<>(members(tar).keySet());
    }
}
