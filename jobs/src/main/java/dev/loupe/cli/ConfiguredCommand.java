package dev.loupe.cli;

import dev.loupe.config.OptionCatalogue;

/**
 * A command configured through typed options: {@code --help} lists its {@link #catalogue()} (see
 * {@link ConfigurationHelp}) and {@link ConfigurationOptions} checks {@code --config} and {@code -D} against it.
 */
public interface ConfiguredCommand {

    /** Every option the command reads. */
    OptionCatalogue catalogue();
}
