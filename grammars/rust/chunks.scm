; Chunk query for Rust. Captures: @function / @type (kept whole), @container (impl,
; trait, inline mod: their items become members), @name. Attributes and doc comments
; directly above an item are attached by the chunker, not here.

(function_item name: (_) @name) @function
(function_signature_item name: (_) @name) @function
(macro_definition name: (identifier) @name) @function

(struct_item name: (type_identifier) @name) @type
(enum_item name: (type_identifier) @name) @type
(union_item name: (type_identifier) @name) @type
(type_item name: (type_identifier) @name) @type

; `impl<T> Trait for Type<T>`: members are named after the implementing type.
(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  ]) @container
(trait_item name: (type_identifier) @name) @container
; Only inline modules; `mod foo;` has no body and stays top-level code.
(mod_item name: (identifier) @name body: (declaration_list)) @container
; Any other implementing type (`impl Trait for &T`, tuples, ...): named by its text.
(impl_item type: (_) @name) @container
