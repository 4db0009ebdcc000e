/* exec_target: exits 0 at once. Its name is the comm every successful exec of exec_many shows. */
int main(void)
{
	return 0;
}
