package dev.loupe.jobs.webdataset;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The shards of a WebDataset given as one input: a folder (its {@code .tar}, {@code .tar.gz} and {@code .tgz} files,
 * recursively), a glob pattern in the last path element ({@code shards/*.tar}, {@code shards/0000[0-4].tar}) or one
 * shard, in name order. {@code root} is the folder the shards' names are relative to, so an output folder can hold
 * the same names. Other files beside the shards (img2dataset's {@code 00000.parquet}, {@code _stats.json}) are not
 * shards.
 */
public record ShardSet(Path root, List<Path> shards) {

    public ShardSet {
        shards = List.copyOf(shards);
    }

    /** Whether {@code input} names shards rather than a table: a folder, a tar file name, or a glob pattern. */
    public static boolean names(String input) {
        return isGlob(input) || Files.isDirectory(Path.of(input)) || isShard(Path.of(input));
    }

    /**
     * The shards {@code input} names.
     *
     * @throws IllegalArgumentException when there are none
     */
    public static ShardSet of(String input) {
        try {
            Path path = Path.of(input).toAbsolutePath().normalize();
            if (isGlob(path.getFileName().toString())) {
                Path root = path.getParent();
                if (!Files.isDirectory(root)) {
                    throw new IllegalArgumentException("--input " + input + ": folder " + root + " does not exist");
                }
                PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + path.getFileName());
                return found(input, root, list(root, false).filter(p -> matcher.matches(p.getFileName())));
            }
            if (Files.isDirectory(path)) {
                return found(input, path, list(path, true));
            }
            if (Files.isRegularFile(path) && isShard(path)) {
                return new ShardSet(path.getParent(), List.of(path));
            }
            throw new IllegalArgumentException("--input " + input + " is neither a table, a shard (.tar), a folder "
                    + "of shards nor a glob pattern of shards");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the shards of " + input + ": " + e.getMessage(), e);
        }
    }

    /** A shard's name relative to {@link #root}. */
    public Path relative(Path shard) {
        return root.relativize(shard);
    }

    /** Whether {@code file}'s name is a shard's: {@code .tar}, {@code .tar.gz} or {@code .tgz}. */
    public static boolean isShard(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".tar") || name.endsWith(".tar.gz") || name.endsWith(".tgz");
    }

    private static boolean isGlob(String input) {
        return input.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    private static Stream<Path> list(Path folder, boolean recursive) throws IOException {
        try (Stream<Path> files = recursive ? Files.walk(folder) : Files.list(folder)) {
            return files.filter(Files::isRegularFile).filter(ShardSet::isShard)
                    .filter(p -> !folder.relativize(p).toString().startsWith("."))
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList().stream();
        }
    }

    private static ShardSet found(String input, Path root, Stream<Path> shards) {
        List<Path> list = shards.toList();
        if (list.isEmpty()) {
            throw new IllegalArgumentException("--input " + input + " holds no WebDataset shard (.tar, .tar.gz, .tgz)");
        }
        return new ShardSet(root, list);
    }
}
