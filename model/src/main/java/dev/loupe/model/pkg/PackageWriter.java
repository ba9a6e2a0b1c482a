package dev.loupe.model.pkg;

import dev.loupe.model.files.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes a model package directory atomically: the contents are produced in a hidden sibling directory and moved
 * into place at the end, so a crash never leaves a half-written package that looks complete. Shared by the
 * converters of every model family, with the copying of the checkpoint's tokenizer and processor files.
 */
public final class PackageWriter {
    /** Files copied verbatim from a checkpoint when present; tokenizer loaders then read a package like a checkpoint. */
    public static final List<String> CHECKPOINT_FILES = List.of(
            "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
            "tokenizer.model", "spiece.model", "chat_template.json", "chat_template.jinja");

    /** Fills the work directory with the package files and returns the manifest written there. */
    @FunctionalInterface
    public interface Contents {
        Manifest writeInto(Path workDir) throws IOException;
    }

    private PackageWriter() {}

    /**
     * Writes a package to {@code outDir}, which must not exist or be empty.
     *
     * @throws IOException when {@code outDir} already holds a package (or anything else), or writing fails
     */
    public static Manifest write(Path outDir, Contents contents) throws IOException {
        Path target = outDir.toAbsolutePath().normalize();
        if (Files.exists(target.resolve(Manifest.FILE_NAME))) {
            throw new IOException(target + " already holds a model package; remove it first");
        }
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path work = Files.createTempDirectory(parent, "." + target.getFileName() + ".converting-");
        try {
            Manifest manifest = contents.writeInto(work);
            if (!Files.isRegularFile(work.resolve(Manifest.FILE_NAME))) {
                throw new IllegalStateException("package contents did not write " + Manifest.FILE_NAME);
            }
            if (Files.exists(target)) {
                try (Stream<Path> s = Files.list(target)) {
                    if (s.findAny().isPresent()) {
                        throw new IOException(target + " exists and is not empty");
                    }
                }
                Files.delete(target);
            }
            Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
            return manifest;
        } finally {
            FileTrees.deleteRecursively(work);
        }
    }

    /** Copies those of {@link #CHECKPOINT_FILES} that the checkpoint has into the package directory. */
    public static void copyCheckpointFiles(Path checkpointDir, Path packageDir) throws IOException {
        for (String f : CHECKPOINT_FILES) {
            Path src = checkpointDir.resolve(f);
            if (Files.isRegularFile(src)) {
                Files.copy(src, packageDir.resolve(f));
            }
        }
    }

    /** Copies a directory tree (e.g. a second tokenizer's folder). */
    public static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path to = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
    }

}
