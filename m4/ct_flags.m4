# CT_CHECK_COMPILE_FLAG(FLAG, IF-OK, IF-NOT, EXTRA-FLAGS)
# Compile an empty program with FLAG (and EXTRA-FLAGS) added to CFLAGS.
AC_DEFUN([CT_CHECK_COMPILE_FLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  ct_save_CFLAGS="$CFLAGS"
  CFLAGS="$CFLAGS $4 $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no]); $3])
  CFLAGS="$ct_save_CFLAGS"])

# CT_CHECK_LINK_FLAG(FLAG, IF-OK, IF-NOT)
AC_DEFUN([CT_CHECK_LINK_FLAG], [
  AC_MSG_CHECKING([whether the linker accepts $1])
  ct_save_LDFLAGS="$LDFLAGS"
  LDFLAGS="$LDFLAGS $1"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no]); $3])
  LDFLAGS="$ct_save_LDFLAGS"])
