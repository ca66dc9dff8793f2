DROP TABLE unbooked_sales;
