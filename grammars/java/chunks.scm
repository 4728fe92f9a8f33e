; Chunk query for Java. Captures: @function (kept whole), @container (types: their
; methods, constructors and nested types become members), @name. Annotations are part of
; the declaration's modifiers; javadoc above it is attached by the chunker.

(method_declaration name: (identifier) @name) @function
(constructor_declaration name: (identifier) @name) @function
(compact_constructor_declaration name: (identifier) @name) @function

(class_declaration name: (identifier) @name) @container
(interface_declaration name: (identifier) @name) @container
(enum_declaration name: (identifier) @name) @container
(record_declaration name: (identifier) @name) @container
(annotation_type_declaration name: (identifier) @name) @container
