package dev.loupe.jobs.caption;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import dev.loupe.jobs.webdataset.ShardReader;

/**
 * What {@code loupe caption} reads, planned on the client before the job starts: the {@link InputSplit}s (loose
 * files in groups, one per archive) in input order, the folders the pipeline may read {@code file:} URIs from, and
 * the number of images (for the progress line). An input is a folder (walked recursively, hidden names skipped), a
 * glob pattern ({@code photos/**}{@code /*.jpg}), a tar / tar.gz / tgz / zip archive (a tar read as a WebDataset
 * shard as the {@link InputFormat} says), a manifest table (.csv, .jsonl,
 * .parquet given directly; its image column holds paths relative to the manifest, URIs or image bytes), or one
 * image file.
 */
public record InputPlan(List<InputSplit> splits, List<Path> fileRoots, long total) {

    public InputPlan {
        splits = List.copyOf(splits);
        fileRoots = List.copyOf(fileRoots);
    }

    /**
     * Plans {@code inputs}.
     *
     * @throws IllegalArgumentException when an input does not exist or a pattern matches nothing
     */
    public static InputPlan of(List<String> inputs, int filesPerSplit, long maxBytes, String imageColumn) {
        return of(inputs, filesPerSplit, maxBytes, imageColumn, InputFormat.AUTO);
    }

    /** Plans {@code inputs}, reading tar archives as {@code format} says. */
    public static InputPlan of(List<String> inputs, int filesPerSplit, long maxBytes, String imageColumn,
            InputFormat format) {
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("give at least one --input (folder, glob, tar/zip archive or image)");
        }
        Builder plan = new Builder(filesPerSplit, maxBytes, imageColumn, format);
        for (String input : inputs) {
            try {
                plan.add(input);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read --input " + input + ": " + e.getMessage(), e);
            }
        }
        return plan.build();
    }

    static boolean isGlob(String input) {
        return input.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    /** A manifest table given directly as an input: .csv, .jsonl, .ndjson or .parquet. */
    static boolean isManifest(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".csv") || name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".parquet");
    }

    static InputSplit.Kind archiveKind(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".tar")) {
            return InputSplit.Kind.TAR;
        }
        if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) {
            return InputSplit.Kind.TAR_GZ;
        }
        if (name.endsWith(".zip")) {
            return InputSplit.Kind.ZIP;
        }
        return null;
    }

    private static final class Builder {
        private final int filesPerSplit;
        private final long maxBytes;
        private final String imageColumn;
        private final InputFormat format;
        private final List<InputSplit> splits = new ArrayList<>();
        private final Set<Path> roots = new LinkedHashSet<>();
        private final List<String> pendingFiles = new ArrayList<>();
        private final List<String> pendingIds = new ArrayList<>();
        private long total;

        Builder(int filesPerSplit, long maxBytes, String imageColumn, InputFormat format) {
            this.filesPerSplit = filesPerSplit;
            this.maxBytes = maxBytes;
            this.imageColumn = imageColumn;
            this.format = format;
        }

        void add(String input) throws IOException {
            if (isGlob(input)) {
                addGlob(input);
                return;
            }
            Path path = Path.of(input);
            if (Files.isDirectory(path)) {
                Path root = path.toAbsolutePath().normalize();
                roots.add(root);
                String prefix = trimSlash(input);
                for (Path file : walk(root)) {
                    addFile(file, prefix + "/" + slashes(root.relativize(file)));
                }
            } else if (Files.isRegularFile(path) && isManifest(path)) {
                Path file = path.toAbsolutePath().normalize();
                flushFiles();
                roots.add(file.getParent());
                InputSplit manifest = new InputSplit(splits.size(), InputSplit.Kind.MANIFEST, file.toString(), input,
                        imageColumn, List.of(), List.of(), 0);
                splits.add(manifest);
                total += InputEntries.count(manifest, maxBytes);
            } else if (Files.isRegularFile(path)) {
                Path file = path.toAbsolutePath().normalize();
                if (archiveKind(file) == null) {
                    roots.add(file);
                }
                addFile(file, input);
            } else {
                throw new IllegalArgumentException("--input " + input + " does not exist (expected a folder, a glob "
                        + "pattern, a tar/tar.gz/zip archive or an image file)");
            }
        }

        private void addGlob(String pattern) throws IOException {
            String normal = pattern.replace('\\', '/');
            int firstGlob = 0;
            while (firstGlob < normal.length() && "*?[{".indexOf(normal.charAt(firstGlob)) < 0) {
                firstGlob++;
            }
            int cut = normal.lastIndexOf('/', firstGlob);
            String basePrefix = cut < 0 ? "" : normal.substring(0, cut);
            Path base = (cut < 0 ? Path.of("") : Path.of(basePrefix.isEmpty() ? "/" : basePrefix))
                    .toAbsolutePath().normalize();
            if (!Files.isDirectory(base)) {
                throw new IllegalArgumentException("--input " + pattern + ": folder " + base + " does not exist");
            }
            String rest = cut < 0 ? normal : normal.substring(cut + 1);
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + rest);
            List<Path> matched = walk(base).stream().filter(f -> matcher.matches(base.relativize(f))).toList();
            if (matched.isEmpty()) {
                throw new IllegalArgumentException("--input " + pattern + " matches no file");
            }
            roots.add(base);
            for (Path file : matched) {
                String rel = slashes(base.relativize(file));
                addFile(file, basePrefix.isEmpty() ? rel : trimSlash(basePrefix) + "/" + rel);
            }
        }

        private void addFile(Path file, String id) throws IOException {
            InputSplit.Kind kind = archiveKind(file);
            if (kind == null) {
                pendingFiles.add(file.toString());
                pendingIds.add(id);
                total++;
                if (pendingFiles.size() >= filesPerSplit) {
                    flushFiles();
                }
                return;
            }
            flushFiles();
            if (kind != InputSplit.Kind.ZIP && (format == InputFormat.WEBDATASET
                    || (format == InputFormat.AUTO && ShardReader.looksLikeShard(file)))) {
                kind = InputSplit.Kind.WEBDATASET;
            }
            InputSplit archive = new InputSplit(splits.size(), kind, file.toString(), id, null, List.of(), List.of(), 0);
            splits.add(archive);
            total += InputEntries.count(archive, maxBytes);
        }

        private void flushFiles() {
            if (!pendingFiles.isEmpty()) {
                splits.add(new InputSplit(splits.size(), InputSplit.Kind.FILES, null, null, null, pendingFiles, pendingIds,
                        0));
                pendingFiles.clear();
                pendingIds.clear();
            }
        }

        InputPlan build() {
            flushFiles();
            return new InputPlan(splits, new ArrayList<>(roots), total);
        }

        /** Regular files under {@code root}, sorted, hidden names skipped. */
        private static List<Path> walk(Path root) throws IOException {
            try (Stream<Path> files = Files.walk(root)) {
                return files.filter(Files::isRegularFile)
                        .filter(f -> !InputEntries.hidden(slashes(root.relativize(f))))
                        .sorted()
                        .toList();
            }
        }

        private static String slashes(Path relative) {
            return relative.toString().replace('\\', '/');
        }

        private static String trimSlash(String s) {
            String t = s;
            while (t.length() > 1 && (t.endsWith("/") || t.endsWith("\\"))) {
                t = t.substring(0, t.length() - 1);
            }
            return t;
        }
    }
}
