# embed_lua.cmake — writes indicators_lua.c from indicators_lua.c.in and lua/*.lua (cmake -P, at build time):
# each script becomes a C string literal. person.lua (the facts of a person and their contribution to a
# period's counters) is shared: indicators_lua.c.in puts its literal in front of apply's and values' (adjacent
# literals are one string), so both scripts run the same code. -DSRC_DIR=<this dir> -DOUT=<the .c to write>.
foreach(script person apply values dead drop compare)
  file(READ ${SRC_DIR}/lua/${script}.lua lua_src)
  string(REPLACE "\\" "\\\\" lua_src "${lua_src}")
  string(REPLACE "\"" "\\\"" lua_src "${lua_src}")
  string(REPLACE "\n" "\\n\"\n    \"" lua_src "${lua_src}")
  set(LUA_${script} "\"${lua_src}\"")
endforeach()
configure_file(${SRC_DIR}/indicators_lua.c.in ${OUT} @ONLY)
