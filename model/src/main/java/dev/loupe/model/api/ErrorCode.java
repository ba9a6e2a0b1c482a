package dev.loupe.model.api;

/**
 * Stable, machine-readable failure codes. They appear in dead-letter records and in the command line's
 * error objects, so users filter on them: add codes, never rename one.
 */
public enum ErrorCode {
    /** The Kafka record could not be decoded as an AnnotationRequest. */
    UNDECODABLE_RECORD,
    /** The request is well-formed Avro but asks for something invalid (no image, bad option, ...). */
    INVALID_REQUEST,
    /** The request asks for a feature this model or build does not support. */
    UNSUPPORTED_OPTION,
    /** The image URI uses a scheme with no available reader. */
    UNSUPPORTED_SCHEME,
    /** A file: URI resolves outside the configured root folders. */
    PATH_NOT_ALLOWED,
    IMAGE_NOT_FOUND,
    /** The image has zero bytes. */
    IMAGE_EMPTY,
    /** The encoded image exceeds the byte limit. */
    IMAGE_TOO_LARGE,
    /** The decoded image exceeds the pixel limit (decompression-bomb guard). */
    IMAGE_TOO_MANY_PIXELS,
    /** The bytes are not an image in any supported format. */
    IMAGE_UNSUPPORTED_FORMAT,
    /** The bytes look like a supported format but are corrupt or truncated. */
    IMAGE_CORRUPT,
    FETCH_TIMEOUT,
    FETCH_FAILED,
    /** The prompt plus generation budget does not fit the model's context. */
    PROMPT_TOO_LONG,
    /** The model runtime failed on this request. */
    INFERENCE_FAILED,
    /** Anything not classified above; a bug to report. */
    INTERNAL,
    /**
     * An http(s) image URI, or a redirect it led to, points at an address the fetcher refuses by default
     * (loopback, private, link-local, metadata ...) and that loupe.fetch.allowed-hosts does not allow.
     */
    ADDRESS_NOT_ALLOWED
}
