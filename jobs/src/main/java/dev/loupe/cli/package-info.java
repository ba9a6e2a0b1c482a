/**
 * The {@code loupe} command line (picocli): one class per subcommand. The job commands ({@code run},
 * {@code caption}, {@code enrich}) take their jobs' arguments ({@code dev.loupe.config.JobArguments}); nothing
 * outside this package refers to it.
 */
package dev.loupe.cli;
