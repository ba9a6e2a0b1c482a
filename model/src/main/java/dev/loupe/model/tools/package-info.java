/**
 * Tooling around the runtime, not part of its annotation API: random-weight checkpoints with chosen dimensions
 * (the demo model of {@code loupe run}, benchmark models), generated tokenizers, synthetic images and the
 * {@code loupe bench} measurement loop. Jobs never call into it to annotate; only the command line's demo and
 * bench commands and the tests do.
 */
package dev.loupe.model.tools;
