/**
 * The contract every model family implements ({@link dev.loupe.model.family.ModelFamily}); kept apart from the
 * registry ({@code dev.loupe.model.ModelFamilies}) so that the families and the registry that lists them do not
 * depend on each other.
 */
package dev.loupe.model.family;
