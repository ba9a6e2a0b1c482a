package dev.loupe.jobs.soak;

import dev.loupe.model.tools.RandomImages;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The soak run's requests, numbered 0..n-1 and made on demand from the index (nothing held per request): good
 * ones (inline images and {@code file:} images under one folder; the {@link Work}'s tasks in turn, by default
 * captions, questions and rankings, over its distinct images in turn) and, spread evenly at the given fraction, bad
 * ones of every {@link Kind} that should end as one dead letter each. Undecodable values carry their index in the
 * bytes, so their dead letter (which has no id) can be matched too.
 */
public final class SoakInputs {

    /** What request {@code i} is, and whether it should get a result (good) or a dead letter (bad). */
    public enum Kind {
        GOOD_INLINE(true), GOOD_FILE(true),
        CORRUPT_BYTES(false), TRUNCATED_IMAGE(false), MISSING_FILE(false), BAD_TASK_OPTIONS(false),
        BAD_GENERATION(false), UNDECODABLE(false);

        private final boolean good;

        Kind(boolean good) {
            this.good = good;
        }

        public boolean good() {
            return good;
        }

        static final List<Kind> BAD = Arrays.stream(values()).filter(k -> !k.good).toList();
    }

    private static final String ID_PREFIX = "soak-";
    /** Warm-up requests' ids: {@link #index(String)} gives -1 for them, so a late one counts as foreign. */
    private static final String WARMUP_ID_PREFIX = "soak-warmup-";
    /** Starts every undecodable value: Avro reads it as a string of negative length, so decoding fails. */
    private static final byte[] UNDECODABLE_PREFIX = {(byte) 0xff, 0x01};
    private static final String UNDECODABLE_MARKER = "loupe-soak-undecodable:";
    /** The distinct images the requests cycle through unless the work says otherwise. */
    public static final int DEFAULT_DISTINCT_IMAGES = 8;
    /** Every task in turn: what the soak sends unless the work names its tasks. */
    public static final List<Task> ALL_TASKS = List.of(Task.values());
    /** Up to this many distinct images are held in memory; more are read from their files when a request is made. */
    private static final int IMAGES_HELD = 64;

    private final int count;
    private final double badFraction;
    private final Work work;
    private final Path imageRoot;
    private final List<byte[]> images;
    private final List<String> imageUris;
    /** Encodes the values the writer sends, through reused buffers ({@link #value(int)}, {@link #warmupValue(int)}). */
    private final RequestEncoder encoder = new RequestEncoder();
    /** New-token counts taken in turn by the requests (min = max); empty: every request asks for {@link #work}. */
    private final int[] lengthMix;

    /**
     * How the soak's images are encoded: JPEG (a photo's format: what a stream of photos sends, small and cheap to
     * decode) or PNG (lossless, several times larger and slower to decode for photo-like content).
     */
    public enum ImageFormat {
        JPEG("jpg"), PNG("png");

        /** The quality of the JPEGs (ImageIO's 0..1 scale), a camera's usual setting. */
        static final float JPEG_QUALITY = 0.9f;

        private final String extension;

        ImageFormat(String extension) {
            this.extension = extension;
        }

        /** The file-name extension of the images written for {@code file:} requests. */
        public String extension() {
            return extension;
        }

        byte[] encode(long seed, int width, int height) throws IOException {
            return this == JPEG ? RandomImages.jpeg(seed, width, height, JPEG_QUALITY)
                    : RandomImages.png(seed, width, height);
        }
    }

    /**
     * What each good request asks of the model: its new-token bounds ({@code minNewTokens} 0 leaves the model's
     * default), the size of the images ({@code imageWidth} 0: small images of eight different sizes), their encoding,
     * the tasks the requests take in turn and how many distinct images they cycle through (as many as the requests:
     * every request its own image, so no two requests of a batch share a vision pass, as in {@code loupe bench}).
     */
    public record Work(int minNewTokens, int maxNewTokens, int imageWidth, int imageHeight, ImageFormat imageFormat,
            List<Task> tasks, int distinctImages) {
        public Work {
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("max new tokens must be at least 1, got " + maxNewTokens);
            }
            if (minNewTokens < 0 || minNewTokens > maxNewTokens) {
                throw new IllegalArgumentException("min new tokens must be in [0, max new tokens = " + maxNewTokens
                        + "], got " + minNewTokens);
            }
            if (imageWidth < 0 || imageHeight < 0 || (imageWidth == 0) != (imageHeight == 0)) {
                throw new IllegalArgumentException("image size must be WIDTHxHEIGHT, both positive, got "
                        + imageWidth + "x" + imageHeight);
            }
            java.util.Objects.requireNonNull(imageFormat, "imageFormat");
            if (tasks == null || tasks.isEmpty() || tasks.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("the tasks must name at least one of " + ALL_TASKS + ", got " + tasks);
            }
            tasks = List.copyOf(tasks);
            if (distinctImages < 1) {
                throw new IllegalArgumentException("the number of distinct images must be at least 1, got "
                        + distinctImages);
            }
        }

        /** At most {@code maxNewTokens} tokens, small PNG images, every task in turn over eight images. */
        public static Work upTo(int maxNewTokens) {
            return new Work(0, maxNewTokens, 0, 0, ImageFormat.PNG, ALL_TASKS, DEFAULT_DISTINCT_IMAGES);
        }

        /** This work with images of {@code width} × {@code height}. */
        public Work withImageSize(int width, int height) {
            return new Work(minNewTokens, maxNewTokens, width, height, imageFormat, tasks, distinctImages);
        }

        /** This work with at least {@code min} new tokens per request. */
        public Work withMinNewTokens(int min) {
            return new Work(min, maxNewTokens, imageWidth, imageHeight, imageFormat, tasks, distinctImages);
        }

        /** This work with its images encoded as {@code format}. */
        public Work withImageFormat(ImageFormat format) {
            return new Work(minNewTokens, maxNewTokens, imageWidth, imageHeight, format, tasks, distinctImages);
        }

        /** This work with the good requests taking {@code tasks} in turn. */
        public Work withTasks(List<Task> tasks) {
            return new Work(minNewTokens, maxNewTokens, imageWidth, imageHeight, imageFormat, tasks, distinctImages);
        }

        /** This work with the requests cycling through {@code n} distinct images. */
        public Work withDistinctImages(int n) {
            return new Work(minNewTokens, maxNewTokens, imageWidth, imageHeight, imageFormat, tasks, n);
        }
    }

    private SoakInputs(int count, double badFraction, Work work, Path imageRoot, List<byte[]> images,
            List<String> imageUris, int[] lengthMix) {
        this.count = count;
        this.lengthMix = lengthMix;
        this.badFraction = badFraction;
        this.work = work;
        this.imageRoot = imageRoot;
        this.images = images;
        this.imageUris = imageUris;
    }

    /**
     * {@code count} requests, {@code badFraction} of them bad, generating at most {@code maxNewTokens} tokens each;
     * writes eight random images under {@code imageRoot} for the {@code file:} requests (the job must allow that
     * folder).
     */
    public static SoakInputs prepare(int count, double badFraction, int maxNewTokens, Path imageRoot, long seed)
            throws IOException {
        return prepare(count, badFraction, Work.upTo(maxNewTokens), imageRoot, seed);
    }

    /** As {@link #prepare(int, double, int, Path, long)}, each good request asking for {@code work}. */
    public static SoakInputs prepare(int count, double badFraction, Work work, Path imageRoot, long seed)
            throws IOException {
        if (count < 1) {
            throw new IllegalArgumentException("the number of requests must be at least 1, got " + count);
        }
        if (!(badFraction >= 0 && badFraction < 1)) {
            throw new IllegalArgumentException("the fraction of bad requests must be in [0, 1), got " + badFraction);
        }
        Files.createDirectories(imageRoot);
        List<byte[]> images = new ArrayList<>();
        List<String> uris = new ArrayList<>();
        for (int i = 0; i < work.distinctImages(); i++) {
            int size = i % DEFAULT_DISTINCT_IMAGES;   // without a size: eight sizes in turn, every image its own content
            byte[] image = work.imageWidth() > 0
                    ? work.imageFormat().encode(seed + i, work.imageWidth(), work.imageHeight())
                    : work.imageFormat().encode(seed + i, 24 + 8 * size, 20 + 6 * size);
            if (i < IMAGES_HELD) {
                images.add(image);
            }
            uris.add(Files.write(imageRoot.resolve("image-" + i + "." + work.imageFormat().extension()), image)
                    .toUri().toString());
        }
        return new SoakInputs(count, badFraction, work, imageRoot, images, uris, new int[0]);
    }

    /**
     * These requests with request {@code i} asking for exactly {@code mix[i % mix.size()]} new tokens (min = max),
     * as {@code loupe bench --length-mix} does, so short answers and long captions arrive interleaved.
     *
     * @throws IllegalArgumentException when a count is below 1
     */
    public SoakInputs withLengthMix(List<Integer> mix) {
        for (int n : mix) {
            if (n < 1) {
                throw new IllegalArgumentException("every --length-mix count must be at least 1, got " + n);
            }
        }
        return new SoakInputs(count, badFraction, work, imageRoot, images, imageUris,
                mix.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * What request {@code i}'s latency is reported under: its requested new-token count (a number) for captions and
     * questions under a length mix, "rank" for rankings (which generate nothing), "all" without a mix.
     */
    public String lengthLabel(int i) {
        if (lengthMix.length == 0) {
            return "all";
        }
        return task(i) == Task.RANK ? "rank" : String.valueOf(lengthMix[i % lengthMix.length]);
    }

    private Task task(int i) {
        return work.tasks().get(i % work.tasks().size());
    }

    public int count() {
        return count;
    }

    /** Request {@code i}'s kind: bad ones spread evenly (exactly floor(count × fraction) of them), kinds in turn. */
    public Kind kind(int i) {
        long badBefore = (long) Math.floor(i * badFraction);
        long badThrough = (long) Math.floor((i + 1) * badFraction);
        if (badThrough > badBefore) {
            return Kind.BAD.get((int) (badBefore % Kind.BAD.size()));
        }
        return i % 4 == 3 ? Kind.GOOD_FILE : Kind.GOOD_INLINE;
    }

    /** The number of bad requests among the {@link #count()}. */
    public int badCount() {
        return (int) Math.floor(count * badFraction);
    }

    public static String id(int i) {
        return ID_PREFIX + i;
    }

    /** The id of warm-up request {@code i} (see {@link #warmupValue(int)}). */
    public static String warmupId(int i) {
        return WARMUP_ID_PREFIX + i;
    }

    /** Whether {@code id} is a warm-up request's id. */
    public static boolean isWarmupId(String id) {
        return id != null && id.startsWith(WARMUP_ID_PREFIX);
    }

    /**
     * The Kafka value of warm-up request {@code i}: the work of good request {@code i} (its task, tokens and image)
     * under the id {@link #warmupId(int)}, so that a run can warm its job up on exactly the work it then measures.
     */
    public synchronized byte[] warmupValue(int i) {
        Kind kind = i % 4 == 3 ? Kind.GOOD_FILE : Kind.GOOD_INLINE;
        AnnotationRequest request = request(i, kind);
        request.setId(warmupId(i));
        return encoder.encode(request);
    }

    /** The index in request id {@code id}, or -1 when it is not a soak request's id. */
    public static int index(String id) {
        if (id == null || !id.startsWith(ID_PREFIX)) {
            return -1;
        }
        try {
            return Integer.parseInt(id.substring(ID_PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The index carried by an undecodable value (a dead letter's raw input), or -1. */
    public static int indexOfUndecodable(byte[] raw) {
        if (raw == null || raw.length <= UNDECODABLE_PREFIX.length) {
            return -1;
        }
        String text = new String(raw, UNDECODABLE_PREFIX.length, raw.length - UNDECODABLE_PREFIX.length,
                StandardCharsets.US_ASCII);
        if (!text.startsWith(UNDECODABLE_MARKER)) {
            return -1;
        }
        try {
            return Integer.parseInt(text.substring(UNDECODABLE_MARKER.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The Kafka value of request {@code i}. */
    public synchronized byte[] value(int i) {
        Kind kind = kind(i);
        if (kind == Kind.UNDECODABLE) {
            byte[] marker = (UNDECODABLE_MARKER + i).getBytes(StandardCharsets.US_ASCII);
            byte[] value = Arrays.copyOf(UNDECODABLE_PREFIX, UNDECODABLE_PREFIX.length + marker.length);
            System.arraycopy(marker, 0, value, UNDECODABLE_PREFIX.length, marker.length);
            return value;
        }
        return encoder.encode(request(i, kind));
    }

    private AnnotationRequest request(int i, Kind kind) {
        AnnotationRequest.Builder b = AnnotationRequest.newBuilder().setId(id(i));
        Task task = task(i);
        b.setTask(task);
        if (task == Task.VQA) {
            b.setQuestion("what is in the picture?");
        } else if (task == Task.RANK) {
            b.setCandidates(List.of("a cat", "a dog", "a tree"));
        }
        if (lengthMix.length > 0) {
            int n = lengthMix[i % lengthMix.length];
            b.setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(n).setMinNewTokens(n).build());
        } else {
            b.setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(work.maxNewTokens())
                    .setMinNewTokens(work.minNewTokens() > 0 ? work.minNewTokens() : null).build());
        }
        int image = i % imageUris.size();
        switch (kind) {
            case GOOD_INLINE -> b.setImage(inline(imageBytes(image)));
            case GOOD_FILE -> b.setImage(ImageSource.newBuilder().setUri(imageUris.get(image)).build());
            case CORRUPT_BYTES -> {
                byte[] noise = new byte[64 + i % 64];
                new Random(i).nextBytes(noise);
                b.setImage(inline(noise));
            }
            case TRUNCATED_IMAGE -> b.setImage(inline(Arrays.copyOf(image(image), 40)));
            case MISSING_FILE -> b.setImage(ImageSource.newBuilder()
                    .setUri(imageRoot.resolve("missing-" + i + "." + work.imageFormat().extension()).toUri().toString())
                    .build());
            case BAD_TASK_OPTIONS -> {
                b.setImage(inline(imageBytes(image)));
                // a question without one, or a ranking without candidates
                b.setTask(i % 2 == 0 ? Task.VQA : Task.RANK).setQuestion(null).setCandidates(List.of());
            }
            case BAD_GENERATION -> {
                b.setImage(inline(imageBytes(image)));
                b.setGeneration(i % 2 == 0
                        ? GenerationOverrides.newBuilder().setNumBeams(0).build()
                        : GenerationOverrides.newBuilder().setMaxNewTokens(1_000_000).build());
            }
            default -> throw new IllegalStateException("no request for " + kind);
        }
        return b.build();
    }

    /** Distinct image {@code k}'s bytes: held in memory for the first {@value #IMAGES_HELD}, else read from its file. */
    private byte[] image(int k) {
        if (k < images.size()) {
            return images.get(k);
        }
        try {
            return Files.readAllBytes(Path.of(java.net.URI.create(imageUris.get(k))));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the soak's image " + imageUris.get(k), e);
        }
    }

    /**
     * Distinct image {@code k}'s bytes as {@link #image(int)}, a file's read into the encoder's reused buffer: valid
     * until the request that carries them is encoded.
     */
    private ByteBuffer imageBytes(int k) {
        return k < images.size() ? ByteBuffer.wrap(images.get(k))
                : encoder.read(Path.of(java.net.URI.create(imageUris.get(k))));
    }

    private static ImageSource inline(byte[] bytes) {
        return inline(ByteBuffer.wrap(bytes));
    }

    private static ImageSource inline(ByteBuffer bytes) {
        return ImageSource.newBuilder().setBytes(bytes).build();
    }
}
