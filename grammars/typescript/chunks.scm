; Chunk query for TypeScript (the TSX query is the same). Captures: @function / @type
; (kept whole), @container (class, namespace: members split out), @name. The chunker keeps
; the outermost match per @name node, so `export` wrappers stay in the chunk.

(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(function_signature name: (identifier) @name) @function
(export_statement
  declaration: [
    (function_declaration name: (identifier) @name)
    (generator_function_declaration name: (identifier) @name)
    (function_signature name: (identifier) @name)
  ]) @function

; `const f = (...) => {...}` and `let g = function () {...}` count as functions.
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @function
(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @function
(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)]))) @function

(interface_declaration name: (type_identifier) @name) @type
(type_alias_declaration name: (type_identifier) @name) @type
(enum_declaration name: (identifier) @name) @type
(export_statement
  declaration: [
    (interface_declaration name: (type_identifier) @name)
    (type_alias_declaration name: (type_identifier) @name)
    (enum_declaration name: (identifier) @name)
  ]) @type

(class_declaration name: (type_identifier) @name) @container
(abstract_class_declaration name: (type_identifier) @name) @container
(internal_module name: (_) @name) @container
(export_statement
  declaration: [
    (class_declaration name: (type_identifier) @name)
    (abstract_class_declaration name: (type_identifier) @name)
    (internal_module name: (_) @name)
  ]) @container

; Class members only: methods of object literals stay inside their declaration.
(class_body (method_definition name: (_) @name) @function)
(class_body (method_signature name: (_) @name) @function)
(class_body (abstract_method_signature name: (_) @name) @function)
(class_body
  (public_field_definition
    name: (_) @name
    value: [(arrow_function) (function_expression)]) @function)
