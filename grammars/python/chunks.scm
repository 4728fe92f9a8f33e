; Chunk query for Python. Captures:
;   @function  a definition kept whole (Function chunk)
;   @container a definition whose nested definitions become member chunks
;   @name      the definition's name
; The chunker keeps the outermost match per @name node, so a decorated_definition wins
; over the bare function_definition inside it (its decorators stay in the chunk).

(function_definition name: (identifier) @name) @function
(decorated_definition
  definition: (function_definition name: (identifier) @name)) @function

(class_definition name: (identifier) @name) @container
(decorated_definition
  definition: (class_definition name: (identifier) @name)) @container
