package dev.loupe.jobs.caption;

/**
 * How {@code loupe caption} reads tar archives ({@code loupe.caption.input-format}): each image entry as a row, or
 * each WebDataset sample (the members sharing a key: image, {@code .txt}, {@code .json}, ...) as a row.
 */
public enum InputFormat {
    /** A tar is a WebDataset shard when one of its first samples holds an image and another member; else images. */
    AUTO,
    /** Every image entry of a tar is a row (other entries are rows with an error). */
    IMAGES,
    /** Every tar is a WebDataset shard: one row per sample, its text members carried into the row. */
    WEBDATASET
}
