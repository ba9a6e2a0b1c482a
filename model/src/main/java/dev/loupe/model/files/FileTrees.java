package dev.loupe.model.files;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** File-tree helpers shared by the runtime, the jobs and the command line (one recursive delete, not six). */
public final class FileTrees {
    /** Walks of a tree that something keeps writing into while it is deleted, before giving up. */
    private static final int DELETE_ATTEMPTS = 3;

    private FileTrees() {}

    /**
     * Deletes {@code dir} and everything under it; nothing happens when it does not exist. Symbolic links are
     * deleted, never followed. Entries that disappear while the tree is walked (another thread or process removing
     * them, e.g. Flink discarding a finished job's checkpoints) are skipped, not taken for the whole tree gone; a
     * directory that gains entries meanwhile is walked again.
     */
    public static void deleteRecursively(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                        Files.deleteIfExists(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                        if (e instanceof NoSuchFileException) {
                            return FileVisitResult.CONTINUE;   // removed meanwhile
                        }
                        throw e;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                        if (e != null && !(e instanceof NoSuchFileException)) {
                            throw e;
                        }
                        Files.deleteIfExists(d);
                        return FileVisitResult.CONTINUE;
                    }
                });
                return;
            } catch (DirectoryNotEmptyException grew) {
                if (attempt == DELETE_ATTEMPTS) {
                    throw grew;
                }
            }
        }
    }
}
