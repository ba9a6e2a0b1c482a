package dev.loupe.flink.testing;

import java.net.URI;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.apache.flink.core.fs.local.LocalFileSystem;

/**
 * Test-only Flink file system for the scheme {@value #SCHEME}, backed by local files: stands in for a file-system
 * plugin such as s3 so tests can show that image URIs of other schemes are read through Flink's file systems.
 */
public final class LocalBackedFileSystemFactory implements FileSystemFactory {
    public static final String SCHEME = "loupe-test-fs";

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileSystem create(URI fsUri) {
        return new LocalFileSystem();
    }
}
