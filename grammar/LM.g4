// LM.g4 — the grammar of the .lm language (see shared LANGUAGE.md).
//
// Whitespace, including newlines, is insignificant; `;` may separate statements.
// The parse tree never leaves compiler/lib/Parse: it is turned into the AST there.
grammar LM;

program : topDecl* EOF ;

topDecl
  : importDecl
  | modelDecl
  | experimentDecl
  | sweepDecl
  | observableDecl
  ;

importDecl : 'import' (dottedName | STRING) ';'? ;
dottedName : ID ('.' ID)* ;

// ---- models ---------------------------------------------------------------
modelDecl : 'model' ID '(' hparams? ')' '{' modelItem* '}' ;
hparams   : hparam (',' hparam)* ','? ;
hparam    : ID ':' typeRef ('=' expr)? ;

typeRef   : (ID | 'fn') ('[' (dim (',' dim)*)? ']')? ;
dim       : '...' | expr ;

modelItem
  : letStmt
  | paramDecl
  | subDecl
  | fnDecl
  ;
paramDecl : 'param' ID (',' ID)* ':' typeRef '=' expr ';'? ;
subDecl   : 'sub' ID ':' ID '(' args? ')' ('[' count=expr ']' | 'for' iter=ID 'in' range=expr)?
            ('if' cond=expr)? ';'? ;
fnDecl    : 'fn' ID? '(' fnArgs? ')' ('->' typeRef)? ('=' expr | block) ;
fnArgs    : fnArg (',' fnArg)* ','? ;
fnArg     : ID (':' typeRef)? ;

block : '{' stmt* '}' ;
stmt
  : letStmt
  | varStmt
  | assignStmt
  | forStmt
  | returnStmt
  ;
letStmt    : 'let' ID '=' expr ';'? ;
varStmt    : 'var' ID '=' expr ';'? ;
assignStmt : ID '=' expr ';'? ;
forStmt    : 'for' ID 'in' expr block ;
returnStmt : 'return' expr ';'? ;

// ---- experiments ----------------------------------------------------------
experimentDecl : 'experiment' ID '(' hparams? ')' '{' expItem* '}' ;
expItem
  : binding
  | lossDef
  | trainBlock
  | observeBlock
  | expectStmt
  | predictStmt
  ;
binding   : ID '=' expr ('frozen' (seedKw=ID seed=expr)?)? ';'? ;
lossDef   : ID '(' fnArgs? ')' '=' expr ';'? ;
trainBlock : 'train' ID 'on' expr '{' setting* '}' ;
setting   : ID '=' expr ';'?
          | 'ensemble' ID 'in' expr ';'?
          ;
observeBlock : 'observe' 'every' expr ID? '{' observeItem* '}' ;
observeItem  : ID '=' expr ('over' split=expr)? ';'? ;
expectStmt   : 'expect' expr ';'? ;
predictStmt  : 'predict' expr ('within' expr '%'?)? ';'? ;

sweepDecl : 'sweep' ID '{' (sweepAxis (',' sweepAxis)*)? '}' ;
sweepAxis : ID 'in' expr ;

observableDecl : 'observable' ID '(' fnArgs? ')' '=' expr ';'? ;

// ---- expressions (earlier alternatives bind tighter) -----------------------
expr
  : primary                                              # PrimaryExpr
  | expr '.' memberName                                  # MemberExpr
  | expr '(' args? ')'                                   # CallExpr
  | expr '[' slice (',' slice)* ']'                      # IndexExpr
  | <assoc=right> expr '^' expr                          # PowExpr
  | op=('-' | '+') expr                                  # UnaryExpr
  | expr op=('*' | '/' | '%' | '@') expr                 # MulExpr
  | expr op=('+' | '-') expr                             # AddExpr
  | expr '..' expr                                       # RangeExpr
  | expr op=('<' | '<=' | '>' | '>=' | '==' | '!=') expr # CmpExpr
  | 'not' expr                                           # NotExpr
  | expr 'and' expr                                      # AndExpr
  | expr 'or' expr                                       # OrExpr
  | expr '~' expr                                        # ApproxExpr
  | expr 'if' expr ('else' expr)?                        # CondExpr
  | expr 'tap' ID                                        # TapExpr
  ;

primary
  : INT                                 # IntLit
  | FLOAT                               # FloatLit
  | STRING                              # StringLit
  | ('true' | 'false')                  # BoolLit
  | (ID | 'var')                        # NameRef
  | '(' expr ')'                        # Paren
  | '(' expr ',' (expr (',' expr)*)? ')' # TupleLit
  | '[' (expr (',' expr)* ','?)? ']'    # ListLit
  ;

// Keywords that are also natural member names (`data.train`).
memberName : ID | 'train' | 'param' | 'sub' | 'fn' | 'observe' ;

args  : arg (',' arg)* ','? ;
arg   : (ID ':')? expr ;
slice : lo=expr? ':' hi=expr? | expr ;

// ---- tokens ---------------------------------------------------------------
INT    : [0-9]+ ;
FLOAT  : [0-9]+ '.' [0-9]+ EXP? | [0-9]+ EXP ;
fragment EXP : [eE] [+-]? [0-9]+ ;
STRING : '"' (~["\\\r\n] | '\\' .)* '"' ;
ID     : [a-zA-Z_] [a-zA-Z_0-9]* ;
LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
WS     : [ \t\r\n]+ -> skip ;
ANY    : . ;
