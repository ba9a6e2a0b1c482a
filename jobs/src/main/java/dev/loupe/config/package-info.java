/**
 * Configuration: the typed options shared by the jobs ({@link dev.loupe.config.JobOptions}), option catalogues,
 * layered configuration (defaults, cluster configuration, {@code --config} YAML, {@code -D}, flags) and the job
 * arguments whose flags are views of options ({@link dev.loupe.config.JobArguments}, {@link dev.loupe.config.Flag}).
 */
package dev.loupe.config;
