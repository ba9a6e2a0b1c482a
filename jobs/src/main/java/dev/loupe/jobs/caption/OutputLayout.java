package dev.loupe.jobs.caption;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where {@code loupe caption} keeps things under its output folder: the contract files ({@code results.jsonl},
 * {@code results.parquet}, {@code index.html}, {@code thumbs/}) and, while a run is unfinished, its working state in
 * {@code .loupe-caption/} (retained checkpoints, the sink's part files, the command's fingerprint).
 */
public record OutputLayout(Path root) {

    public Path resultsJsonl() {
        return root.resolve("results.jsonl");
    }

    public Path resultsParquet() {
        return root.resolve("results.parquet");
    }

    public Path index() {
        return root.resolve("index.html");
    }

    public Path thumbs() {
        return root.resolve("thumbs");
    }

    public Path work() {
        return root.resolve(".loupe-caption");
    }

    public Path checkpoints() {
        return work().resolve("checkpoints");
    }

    public Path parts() {
        return work().resolve("parts");
    }

    public Path fingerprint() {
        return work().resolve("command.txt");
    }

    /** The newest completed checkpoint ({@code chk-N} with its {@code _metadata}), if any. */
    public Optional<Path> latestCheckpoint() throws IOException {
        if (!Files.isDirectory(checkpoints())) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.walk(checkpoints(), 3)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .map(Path::getParent)
                    .filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .max(Comparator.comparingLong(OutputLayout::modified)
                            .thenComparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))));
        }
    }


    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p.resolve("_metadata")).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
