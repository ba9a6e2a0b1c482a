package dev.loupe.cli;

import dev.loupe.config.LayeredConfiguration;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.config.YamlConfigFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * The configuration options every job command takes (a picocli mixin): a YAML file and single {@code -D} settings
 * of any option in the command's {@link OptionCatalogue} (listed by its {@code --help}) or of Flink itself.
 * Precedence, lowest first: option defaults, the base layer (a cluster's configuration, for job mains), the
 * {@code --config} file, {@code -D} settings, then the command's own flags ({@link #setFlag}).
 */
public final class ConfigurationOptions {

    @Option(names = "--config", paramLabel = "FILE.yaml",
            description = "Configuration file in Flink's config.yaml style: nested or flat keys, YAML lists and maps "
                    + "(options listed below, and Flink's own).")
    Path configFile;

    @Option(names = {"-D", "--conf"}, paramLabel = "KEY=VALUE",
            description = "One option (repeatable, -Dkey=value or -D key=value); wins over --config, loses to flags.")
    Map<String, String> properties = new LinkedHashMap<>();

    /** The configuration of defaults, {@code base}, the file and {@code -D}, checked against {@code catalogue}. */
    public Configuration load(OptionCatalogue catalogue, Map<String, String> base) {
        LayeredConfiguration layers = new LayeredConfiguration(catalogue);
        layers.add("cluster configuration", base);
        if (configFile != null) {
            layers.add("--config " + configFile, YamlConfigFile.load(configFile));
        }
        layers.add("-D", properties);
        return layers.build();
    }

    /** Sets {@code option} to a flag's value when the flag was given on the command line (flags win over everything). */
    public static <T> void setFlag(CommandSpec spec, Configuration conf, String flag, ConfigOption<T> option, T value) {
        if (given(spec, flag) && value != null) {
            conf.set(option, value);
        }
    }

    /** Whether {@code flag} was given on the command line of {@code spec}'s command. */
    public static boolean given(CommandSpec spec, String flag) {
        ParseResult parsed = spec == null ? null : spec.commandLine().getParseResult();
        return parsed != null && parsed.hasMatchedOption(flag);
    }
}
