package dev.loupe.flink;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.UnsupportedFileSystemSchemeException;

/**
 * Reads an image's encoded bytes from a URI, blocking, with the pipeline's guards: {@code file:} only inside the
 * configured roots (checked on the normalised path and again on the real path, so neither {@code ..} nor a symlink
 * escapes), {@code http(s):} with a timeout, other schemes through Flink's file systems when a plugin serves them.
 * Reading stops one byte past the limit. Every failure is an {@link AnnotationException} with its code.
 * Thread-safe; {@link AsyncImageFetch} runs it on a bounded pool.
 */
public final class ImageFetcher {
    private final List<Path> roots;
    private final List<Path> realRoots;
    private final long maxBytes;
    private final Duration timeout;
    private final HttpClient http;

    public ImageFetcher(List<Path> roots, long maxBytes, Duration timeout) {
        this.roots = new ArrayList<>();
        this.realRoots = new ArrayList<>();
        for (Path root : roots) {
            Path normal = root.toAbsolutePath().normalize();
            this.roots.add(normal);
            try {
                this.realRoots.add(normal.toRealPath());
            } catch (IOException e) {
                // a root that does not exist (yet) admits nothing real; keep only its normalised form
            }
        }
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
    }

    public static ImageFetcher of(PipelineOptions options) {
        return new ImageFetcher(options.fileRootPaths(), options.fetchMaxBytes(), options.fetchTimeout());
    }

    public byte[] fetch(String uriText) throws AnnotationException {
        URI uri;
        try {
            uri = new URI(uriText);
        } catch (Exception e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "not a valid URI: " + uriText);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        return switch (scheme) {
            case "file" -> readFile(uri);
            case "http", "https" -> readHttp(uri);
            default -> readFlinkFileSystem(uri);
        };
    }

    /** Checks an inline image against the same empty/size rules as fetched ones. */
    public byte[] checkInline(byte[] bytes) throws AnnotationException {
        if (bytes.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "inline image has zero bytes");
        }
        if (bytes.length > maxBytes) {
            throw tooLarge("inline image");
        }
        return bytes;
    }

    /** The real path a file: URI may be read from, or PATH_NOT_ALLOWED / IMAGE_NOT_FOUND. */
    Path allowedPath(URI uri) throws AnnotationException {
        Path path;
        try {
            if (uri.isOpaque() || uri.getAuthority() != null || uri.getQuery() != null || uri.getFragment() != null) {
                throw new IllegalArgumentException("not a local absolute file URI");
            }
            path = Path.of(uri.getPath());
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "not an allowed file URI: " + uri);
        }
        if (!path.isAbsolute()) {
            throw new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "file URI must be absolute: " + uri);
        }
        Path normal = path.normalize();
        if (roots.stream().noneMatch(normal::startsWith)) {
            throw notAllowed(uri);
        }
        Path real;
        try {
            real = normal.toRealPath();
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + uri);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot resolve " + uri + ": " + e.getMessage(), e);
        }
        if (realRoots.stream().noneMatch(real::startsWith)) {
            throw notAllowed(uri);
        }
        if (!Files.isRegularFile(real)) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "not a regular file: " + uri);
        }
        return real;
    }

    private byte[] readFile(URI uri) throws AnnotationException {
        Path real = allowedPath(uri);
        try (InputStream in = Files.newInputStream(real)) {
            return readLimited(in, uri.toString());
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + uri);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + uri + ": " + e.getMessage(), e);
        }
    }

    private byte[] readHttp(URI uri) throws AnnotationException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "no response from " + uri + " within " + timeout);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot fetch " + uri + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "fetch of " + uri + " was interrupted");
        }
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            if (status == 404 || status == 410) {
                throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "HTTP " + status + " for " + uri);
            }
            if (status < 200 || status > 299) {
                throw new AnnotationException(ErrorCode.FETCH_FAILED, "HTTP " + status + " for " + uri);
            }
            long declared = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > maxBytes) {
                throw tooLarge(uri.toString());
            }
            return readLimited(body, uri.toString());
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read the body of " + uri + ": " + e, e);
        }
    }

    private byte[] readFlinkFileSystem(URI uri) throws AnnotationException {
        FileSystem fs;
        try {
            fs = FileSystem.get(uri);
        } catch (UnsupportedFileSystemSchemeException e) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_SCHEME,
                    "no file system available for scheme '" + uri.getScheme() + "' (" + uri + ")");
        } catch (IOException | RuntimeException e) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_SCHEME,
                    "cannot open a file system for " + uri + ": " + e.getMessage(), e);
        }
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        try (InputStream in = fs.open(path)) {
            return readLimited(in, uri.toString());
        } catch (FileNotFoundException | NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such object: " + uri);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + uri + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads at most maxBytes + 1 bytes (one more than the limit proves the image too large without reading it all),
     * within the timeout counted from the first read.
     */
    private byte[] readLimited(InputStream in, String label) throws IOException, AnnotationException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (System.nanoTime() - deadline > 0) {
                throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " took longer than " + timeout);
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new AnnotationException(ErrorCode.FETCH_TIMEOUT, "reading " + label + " was cancelled");
            }
            int want = (int) Math.min(buffer.length, maxBytes + 1 - total);
            int n = in.read(buffer, 0, want);
            if (n < 0) {
                break;
            }
            total += n;
            if (total > maxBytes) {
                throw tooLarge(label);
            }
            out.write(buffer, 0, n);
        }
        if (total == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "image has zero bytes: " + label);
        }
        return out.toByteArray();
    }

    private AnnotationException tooLarge(String label) {
        return new AnnotationException(ErrorCode.IMAGE_TOO_LARGE, label + " exceeds the limit of " + maxBytes + " bytes");
    }

    private static AnnotationException notAllowed(URI uri) {
        return new AnnotationException(ErrorCode.PATH_NOT_ALLOWED, "outside the allowed image folders: " + uri);
    }
}
