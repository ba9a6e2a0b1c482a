package dev.loupe.config;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.TypeConversionException;

/**
 * A job's arguments: {@code --config FILE.yaml}, {@code -D KEY=VALUE} (or {@code -DKEY=VALUE}, {@code --conf}) and
 * the job's {@link Flag}s, each a view of one option of the job's {@link OptionCatalogue}. The job main parses its
 * arguments with {@link #parse}; the {@code loupe} command of the same job adds the same options to its command
 * ({@link #addTo}) and builds its configuration with {@link #configuration}, so both read the same arguments the
 * same way. Precedence, lowest first: option defaults, the base layer (a cluster's configuration, for job mains),
 * the {@code --config} file, {@code -D} settings, then the flags given; map options merge entry by entry.
 */
public final class JobArguments {

    private static final String CONFIG = "--config";
    private static final String DEFINE = "-D";

    private final OptionCatalogue catalogue;
    private final List<Flag> flags;

    /** The arguments of a job reading {@code catalogue}'s options; every flag must set one of them. */
    public JobArguments(OptionCatalogue catalogue, List<Flag> flags) {
        this.catalogue = catalogue;
        this.flags = List.copyOf(flags);
        Set<String> names = new HashSet<>(List.of(CONFIG, DEFINE, "--conf"));
        for (Flag flag : this.flags) {
            OptionCatalogue.Entry entry = catalogue.find(flag.option().key())
                    .filter(e -> e.key().equals(flag.option().key()) && e.option().equals(flag.option()))
                    .orElseThrow(() -> new IllegalStateException(flag.name() + " sets " + flag.option().key()
                            + ", which is no option of this job"));
            String type = entry.type();
            boolean fits = switch (flag.kind()) {
                case VALUE -> true;
                case LIST -> type.startsWith("List");
                case MAP, ENTRIES_FILE -> type.equals("Map");
                case ON, OFF -> type.equals("Boolean");
            };
            if (!fits) {
                throw new IllegalStateException(flag.name() + " is a " + flag.kind() + " flag but "
                        + flag.option().key() + " is a " + type);
            }
            for (String name : flag.names()) {
                if (!names.add(name)) {
                    throw new IllegalStateException("flag " + name + " is declared twice");
                }
            }
        }
    }

    public OptionCatalogue catalogue() {
        return catalogue;
    }

    public List<Flag> flags() {
        return flags;
    }

    /** Parses a job main's {@code args} and builds its configuration over {@code base} (the cluster's configuration). */
    public Configuration parse(Map<String, String> base, String... args) {
        CommandSpec spec = addTo(CommandSpec.create());
        ParseResult parsed = new CommandLine(spec).parseArgs(args);
        return configuration(parsed, base);
    }

    /** Adds {@code --config}, {@code -D} and the flags to {@code spec} (a command's), returning it. */
    public CommandSpec addTo(CommandSpec spec) {
        spec.addOption(OptionSpec.builder(CONFIG).type(String.class).paramLabel("FILE.yaml")
                .description("Configuration file in Flink's config.yaml style: nested or flat keys, YAML lists and "
                        + "maps (options listed below, and Flink's own).")
                .build());
        spec.addOption(OptionSpec.builder(DEFINE, "--conf").type(Map.class).auxiliaryTypes(String.class, String.class)
                .paramLabel("KEY=VALUE")
                .description("One option (repeatable, -Dkey=value or -D key=value); wins over --config, loses to flags.")
                .build());
        return addFlagsTo(spec);
    }

    /** Adds only the flags to {@code spec} (a command that takes no {@code --config} or {@code -D}), returning it. */
    public CommandSpec addFlagsTo(CommandSpec spec) {
        for (Flag flag : flags) {
            spec.addOption(optionSpec(flag));
        }
        return spec;
    }

    /** The configuration of defaults, {@code base}, {@code --config}, {@code -D} and the flags {@code parsed} holds. */
    public Configuration configuration(ParseResult parsed, Map<String, String> base) {
        LayeredConfiguration layers = new LayeredConfiguration(catalogue);
        layers.add("cluster configuration", base);
        String file = parsed.matchedOptionValue(CONFIG, null);
        if (file != null) {
            Path path = Path.of(file);
            layers.add(CONFIG + " " + path, YamlConfigFile.load(path));
        }
        layers.add(DEFINE, parsed.matchedOptionValue(DEFINE, Map.<String, String>of()));
        return withFlags(layers, parsed).build();
    }

    /** The configuration of defaults and the flags {@code parsed} holds (see {@link #addFlagsTo}). */
    public Configuration flagConfiguration(ParseResult parsed) {
        return withFlags(new LayeredConfiguration(catalogue), parsed).build();
    }

    private LayeredConfiguration withFlags(LayeredConfiguration layers, ParseResult parsed) {
        for (Flag flag : flags) {
            if (parsed.hasMatchedOption(flag.name())) {
                layers.add(flag.name(), settings(flag, parsed.matchedOption(flag.name()).getValue()));
            }
        }
        return layers;
    }

    /** The configuration entries a flag's parsed value stands for. */
    private static Map<String, String> settings(Flag flag, Object value) {
        String key = flag.option().key();
        Map<String, String> out = new LinkedHashMap<>();
        switch (flag.kind()) {
            case VALUE -> out.put(key, (String) value);
            case LIST -> {
                StringBuilder list = new StringBuilder();
                for (Object element : (List<?>) value) {
                    list.append(list.length() == 0 ? "" : ";").append(listElement(flag.convert().apply((String) element)));
                }
                out.put(key, list.toString());
            }
            case MAP -> ((Map<?, ?>) value).forEach((k, v) ->
                    out.put(key + "." + String.valueOf(k).strip(), flag.convert().apply((String) v)));
            case ON -> out.put(key, "true");
            case OFF -> out.put(key, "false");
            case ENTRIES_FILE -> flag.entries().apply((String) value).forEach((k, v) -> out.put(key + "." + k, v));
        }
        return out;
    }

    /** A list element in Flink's list syntax ({@code a;b}): quoted when it holds a separator or a quote. */
    public static String listElement(String element) {
        if (element.contains(";") || element.contains("'") || element.contains("\"")) {
            return "'" + element.replace("'", "''") + "'";
        }
        return element;
    }

    private OptionSpec optionSpec(Flag flag) {
        OptionSpec.Builder b = OptionSpec.builder(flag.names().toArray(String[]::new))
                .required(flag.required())
                .description(description(flag).replace("%", "%%"));
        if (flag.label() != null) {
            b.paramLabel(flag.label());
        }
        return switch (flag.kind()) {
            case VALUE -> b.type(String.class).arity("1").converters(value -> checked(flag, value)).build();
            case LIST -> b.type(List.class).auxiliaryTypes(String.class).arity("1..*").build();
            case MAP -> b.type(Map.class).auxiliaryTypes(String.class, String.class).arity("1").build();
            case ON, OFF -> b.type(boolean.class).arity("0").build();
            case ENTRIES_FILE -> b.type(String.class).arity("1").build();
        };
    }

    /** The value of a {@link Flag.Kind#VALUE} flag in configuration syntax, refused when it does not parse as the option's type. */
    private String checked(Flag flag, String value) {
        String converted;
        try {
            converted = flag.convert().apply(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
        try {
            Configuration.fromMap(Map.of(flag.option().key(), converted)).getOptional(flag.option());
        } catch (IllegalArgumentException e) {
            String type = catalogue.find(flag.option().key()).orElseThrow().type();
            throw new TypeConversionException("'" + value + "' is not " + LayeredConfiguration.typeNoun(type));
        }
        return converted;
    }

    private static String description(Flag flag) {
        String text = "[" + flag.option().key() + "] "
                + (flag.note() == null ? OptionText.description(flag.option()) : flag.note());
        boolean isSwitch = flag.kind() == Flag.Kind.ON || flag.kind() == Flag.Kind.OFF;
        String shown = isSwitch ? null : OptionText.shownDefault(flag.option());
        return shown == null ? text : text + (text.endsWith(".") ? "" : ".") + " Default: " + shown + ".";
    }
}
