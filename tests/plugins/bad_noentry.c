/* A shared object without the entry symbol: the loader must refuse it. */
int not_a_dejaview_plugin(void);
int not_a_dejaview_plugin(void) { return 42; }
