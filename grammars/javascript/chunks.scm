; Chunk query for JavaScript. Captures: @function (kept whole), @container (class:
; methods become members), @name. The chunker keeps the outermost match per @name node,
; so `export function f` / `export const f = () => ...` include the `export` keyword.

(function_declaration name: (identifier) @name) @function
(generator_function_declaration name: (identifier) @name) @function
(export_statement
  declaration: [
    (function_declaration name: (identifier) @name)
    (generator_function_declaration name: (identifier) @name)
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

; CommonJS: `module.exports.f = function () {...}` / `exports.f = (...) => ...`.
(expression_statement
  (assignment_expression
    left: (member_expression property: (property_identifier) @name)
    right: [(arrow_function) (function_expression)])) @function

(class_declaration name: (identifier) @name) @container
(export_statement declaration: (class_declaration name: (identifier) @name)) @container

; Class members only: methods of object literals stay inside their declaration.
(class_body (method_definition name: (_) @name) @function)
(class_body
  (field_definition
    property: (_) @name
    value: [(arrow_function) (function_expression)]) @function)
