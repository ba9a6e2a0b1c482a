package dev.loupe.config;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.apache.flink.configuration.ConfigOption;

/**
 * A command-line flag that is a view of one typed option: giving the flag sets the option, in the layer that wins
 * over every other source (see {@link JobArguments}). The flag's type, description and default are the option's;
 * the flag adds only its names, a parameter label and, where the flag reads differently from the key (a switch that
 * turns something off, a JSON array), a note. Build one with the factory for its shape:
 * {@code Flag.value("--batch-size", LoupeOptions.BATCH_MAX_SIZE).label("N")}.
 *
 * @param names the flag's names, e.g. {@code --batch-size}
 * @param option the option it sets
 * @param kind how its values become the option's value
 * @param label the parameter label in help, e.g. {@code N}; null for switches
 * @param note what help says before the option's description (null: only the option's description)
 * @param required whether the command refuses to run without the flag
 * @param convert each given value to the option's configuration syntax (an element of a list, a map entry's value)
 * @param entries for {@link Kind#ENTRIES_FILE}: the file name to the map entries it holds
 */
public record Flag(List<String> names, ConfigOption<?> option, Kind kind, String label, String note, boolean required,
        UnaryOperator<String> convert, Function<String, Map<String, String>> entries) {

    /** How a flag's values set its option. */
    public enum Kind {
        /** One value: {@code --batch-size 8}. */
        VALUE,
        /** A list option, one element per value (repeatable, several after one flag): {@code --allowed-root A B}. */
        LIST,
        /** A map option, {@code KEY=VALUE} per value (repeatable), merged entry by entry over the other sources. */
        MAP,
        /** A boolean option set to true by the flag alone: {@code --candidate-scores}. */
        ON,
        /** A boolean option set to false by the flag alone: {@code --no-caption}. */
        OFF,
        /** A map option's entries read from the file the flag names, under the {@link #MAP} flags of the option. */
        ENTRIES_FILE
    }

    public Flag {
        names = List.copyOf(names);
        convert = convert == null ? UnaryOperator.identity() : convert;
    }

    private static Flag of(String name, ConfigOption<?> option, Kind kind, String label) {
        return new Flag(List.of(name), option, kind, label, null, false, null, null);
    }

    /** A flag giving the option's value. */
    public static Flag value(String name, ConfigOption<?> option) {
        return of(name, option, Kind.VALUE, "VALUE");
    }

    /** A repeatable flag giving the elements of a list option. */
    public static Flag list(String name, ConfigOption<? extends List<?>> option) {
        return of(name, option, Kind.LIST, "VALUE");
    }

    /** A repeatable {@code KEY=VALUE} flag giving entries of a map option. */
    public static Flag map(String name, ConfigOption<Map<String, String>> option) {
        return of(name, option, Kind.MAP, "KEY=VALUE");
    }

    /** A switch setting a boolean option to true. */
    public static Flag on(String name, ConfigOption<Boolean> option) {
        return of(name, option, Kind.ON, null);
    }

    /** A switch setting a boolean option to false. */
    public static Flag off(String name, ConfigOption<Boolean> option) {
        return of(name, option, Kind.OFF, null);
    }

    /** A flag naming a file of entries of a map option (read when the configuration is built). */
    public static Flag entriesFile(String name, ConfigOption<Map<String, String>> option,
            Function<String, Map<String, String>> entries) {
        return new Flag(List.of(name), option, Kind.ENTRIES_FILE, "FILE", null, false, null, entries);
    }

    /** This flag with parameter label {@code label}. */
    public Flag label(String label) {
        return new Flag(names, option, kind, label, note, required, convert, entries);
    }

    /** This flag with {@code note} said in help before the option's description. */
    public Flag note(String note) {
        return new Flag(names, option, kind, label, note, required, convert, entries);
    }

    /** This flag, required. */
    public Flag mandatory() {
        return new Flag(names, option, kind, label, note, true, convert, entries);
    }

    /** This flag with each value converted to configuration syntax by {@code convert} (which may refuse it). */
    public Flag converting(UnaryOperator<String> convert) {
        return new Flag(names, option, kind, label, note, required, convert, entries);
    }

    /** The flag's first name, e.g. {@code --batch-size}. */
    public String name() {
        return names.get(0);
    }
}
