; Chunk query for Go. Captures: @function / @type (kept whole), @name, and @receiver:
; the receiver's type name, so methods are named `Recv.Method`.

(function_declaration name: (identifier) @name) @function
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @receiver
        (pointer_type (type_identifier) @receiver)
        (generic_type type: (type_identifier) @receiver)
        (pointer_type (generic_type type: (type_identifier) @receiver))
      ]))
  name: (field_identifier) @name) @function

; A `type (...)` group is one chunk, named after its first type.
(type_declaration [(type_spec name: (type_identifier) @name) (type_alias name: (type_identifier) @name)]) @type

; Any other receiver shape: still a function, named without its receiver.
(method_declaration name: (field_identifier) @name) @function
