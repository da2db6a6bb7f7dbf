"""The one service layer every door calls. Services take the customer (or the acting
principal) explicitly, own their transactions, and never import Litestar."""
